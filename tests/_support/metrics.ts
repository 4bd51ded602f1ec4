/**
 * The value of one series in Prometheus text, such as
 * `retell_turns_total{kind="begin",outcome="completed"}`; undefined when
 * the text has no such series.
 */
export function sampleOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((line) => line.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
