import assert from "node:assert/strict";
import { createDummyResponder } from "../src/responders/dummy.ts";
import { startCallSession } from "../src/session.ts";
import { captureLogs } from "./_support/logs.ts";

Deno.test("startCallSession logs call_ended once when Deno closes an unanswered ping (1001, then 1005)", async () => {
  const logs = captureLogs();
  const sessions: Promise<unknown>[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      // A 1 s idle timeout stands in for the default 120 s.
      const { socket, response } = Deno.upgradeWebSocket(request, {
        idleTimeout: 1,
      });
      sessions.push(
        startCallSession(socket, {
          callId: "call_ping",
          responder: createDummyResponder(),
          log: logs.log,
        }).ended,
      );
      return response;
    },
  );
  // A raw client that completes the handshake and never answers a ping.
  const connection = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  await connection.write(new TextEncoder().encode(
    `GET /c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  // Read until the server drops the connection: both close events have
  // fired by then.
  const buffer = new Uint8Array(4096);
  while (await connection.read(buffer) !== null) { /* discard */ }
  connection.close();
  await Promise.all(sessions);
  await server.shutdown();
  const ended = logs.events("call_ended");
  assert.deepStrictEqual(ended.map((line) => line.close_code), [1001]);
});
