/**
 * `fetch` whose response body arrives in chunks sized to the data.
 *
 * Deno's `fetch` gives every read of a response body a fresh 64 KiB buffer.
 * A model streams events of a few hundred bytes, so each one would cost
 * 64 KiB outside the JS heap, and that pressure forces full garbage
 * collections that pause every call in the process (measured by
 * `deno task bench`: p99 token latency about 1.7x a bare relay; about 1.0x
 * with this wrapper). Reading through one reused buffer and copying out only
 * the bytes received avoids it. Cancelling the returned body cancels the
 * upstream reader, which closes the request (PITFALLS: aborting alone may not).
 *
 * @param input What to fetch.
 * @param init Request options, including the abort signal.
 * @returns The response, with a compact-chunk body.
 */
export async function compactFetch(
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const response = await fetch(input, init);
  if (response.body === null) return response;
  const reader = response.body.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(16_384);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done || value === undefined) {
        controller.close();
        return;
      }
      buffer = value.buffer as ArrayBuffer;
      controller.enqueue(value.slice());
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
