/** A small virtual terminal, for tests of what a screen shows. */

/**
 * A small terminal of `columns` columns: it applies what the screen writes
 * (text with wrapping, CR, LF, erase line `ESC[2K`, cursor up `ESC[nA`,
 * cursor to column `ESC[nG`, erase below `ESC[J`, as Deno's progress line
 * uses) and shows the rows as text, so a test reads
 * what a person would see.
 */
export function virtualTerminal(columns = 80) {
  const rows: string[][] = [[]];
  let row = 0;
  let column = 0;
  function put(char: string): void {
    if (column >= columns) {
      column = 0;
      row++;
    }
    rows[row] ??= [];
    rows[row]![column] = char;
    column++;
  }
  /** The start of an escape sequence cut off at the end of the last write. */
  let pending = "";
  function write(chunk: string): void {
    // A terminal's output can arrive cut anywhere, inside `ESC[1A` too.
    let text = pending + chunk;
    const cut = new RegExp(String.raw`\x1b(\[\d*)?$`).exec(text);
    pending = cut ? cut[0] : "";
    if (cut) text = text.slice(0, cut.index);
    const pattern = new RegExp(String.raw`\x1b\[(\d*)([A-Za-z])|([\s\S])`, "g");
    for (const [, count, command, char] of text.matchAll(pattern)) {
      if (char === "\r") column = 0;
      else if (char === "\n") {
        row++;
        rows[row] ??= [];
      } else if (char !== undefined) put(char);
      else if (command === "K") rows[row] = [];
      else if (command === "A") row = Math.max(0, row - Number(count || 1));
      else if (command === "G") column = Math.max(0, Number(count || 1) - 1);
      else if (command === "J") {
        rows[row] = rows[row]!.slice(0, column);
        rows.length = row + 1;
      } else throw new Error(`Cannot apply ESC[${count}${command}`);
    }
  }
  return {
    write,
    columns: () => columns,
    /** The rows as text, without trailing blanks and blank rows at the end. */
    get lines(): string[] {
      const lines = rows.map((cells) =>
        Array.from(cells, (c) => c ?? " ").join("").trimEnd()
      );
      while (lines.at(-1) === "") lines.pop();
      return lines;
    },
  };
}
