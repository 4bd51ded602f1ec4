/**
 * The baseline of `deno task bench:load` for the dummy scenarios: the least a
 * Retell custom-LLM server can do with `Deno.serve`,
 * `Deno.upgradeWebSocket` and `JSON.parse`. It sends what our server sends
 * with `RESPONDER=dummy`, `AUTO_RECONNECT=false` and `CALL_DETAILS=false`:
 * the `config` event, the begin message in one complete frame, and one
 * complete frame for every `response_required` and `reminder_required`. No
 * validation, no logging, no metrics.
 *
 * Usage: `PORT=<port> deno run --allow-net=127.0.0.1 --allow-env=PORT
 * bare_dummy.ts` (no `PORT`, or 0, picks a free one). Prints
 * `listening <port>` once it accepts calls.
 *
 * @module
 */

const GREETING = "How may I help you?";
const REPLY = "I am sorry, can you say that again?";
const encoder = new TextEncoder();

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? "0"),
  onListen: ({ port }) =>
    Deno.stdout.writeSync(encoder.encode(`listening ${port}\n`)),
}, (request) => {
  if (request.headers.get("upgrade") !== "websocket") {
    return new Response("bare dummy\n");
  }
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onopen = () => {
    socket.send(JSON.stringify({
      response_type: "config",
      config: { auto_reconnect: false, call_details: false },
    }));
    socket.send(JSON.stringify({
      response_type: "response",
      response_id: 0,
      content: GREETING,
      content_complete: true,
    }));
  };
  socket.onmessage = (event) => {
    const inbound = JSON.parse(event.data);
    if (
      inbound.interaction_type !== "response_required" &&
      inbound.interaction_type !== "reminder_required"
    ) return;
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({
      response_type: "response",
      response_id: inbound.response_id,
      content: REPLY,
      content_complete: true,
    }));
  };
  return response;
});
