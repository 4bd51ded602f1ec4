/**
 * The baseline of `deno task bench`: the least a Retell custom-LLM server can
 * do. For each `response_required` it streams a chat completion from the
 * model and sends each text delta as a `response` frame, then a final one.
 * No validation, no logging, no cancellation beyond the socket closing.
 *
 * Usage: `deno run --allow-net=127.0.0.1 bare_relay.ts <port> <model base URL>`
 * (port 0 picks a free one). Prints `listening <port>` once it accepts calls.
 *
 * @module
 */

const [portArg = "0", baseUrl = "http://127.0.0.1:8000/v1"] = Deno.args;
const encoder = new TextEncoder();

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(portArg),
  onListen: ({ port }) =>
    Deno.stdout.writeSync(encoder.encode(`listening ${port}\n`)),
}, (request) => {
  const { socket, response } = Deno.upgradeWebSocket(request);
  const closed = new AbortController();
  const send = (frame: unknown) => {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
    }
  };
  socket.onopen = () =>
    send({
      response_type: "response",
      response_id: 0,
      content: "Hi",
      content_complete: true,
    });
  socket.onclose = () => closed.abort();
  socket.onmessage = (event) => {
    const inbound = JSON.parse(event.data);
    if (inbound.interaction_type !== "response_required") return;
    relay(inbound.response_id, inbound.transcript).catch(() => {});
  };

  async function relay(
    id: number,
    transcript: { role: string; content: string }[],
  ) {
    const model = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer bench",
      },
      body: JSON.stringify({
        model: "bench",
        stream: true,
        messages: [
          { role: "system", content: "You are a voice agent." },
          ...transcript.map((utterance) => ({
            role: utterance.role === "agent" ? "assistant" : "user",
            content: utterance.content,
          })),
        ],
      }),
      signal: closed.signal,
    });
    let buffered = "";
    for await (const text of model.body!.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const content = JSON.parse(line.slice(6)).choices[0]?.delta?.content;
        if (content) {
          send({
            response_type: "response",
            response_id: id,
            content,
            content_complete: false,
          });
        }
      }
    }
    send({
      response_type: "response",
      response_id: id,
      content: "",
      content_complete: true,
    });
  }

  return response;
});
