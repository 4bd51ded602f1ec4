/**
 * TCP connections from a chosen loopback source address (127.0.0.2, say),
 * which `Deno.connect` cannot pick: a test of a per-address rule needs a
 * second client address on one machine. `node:net` binds the local end.
 */
import net from "node:net";

/** A connection opened from a chosen source address. */
export interface SourcedSocket extends AsyncDisposable {
  /** The underlying socket. */
  readonly socket: net.Socket;
  /** Resolves once the peer has closed it, or it was destroyed. */
  readonly closed: Promise<void>;
}

/** Connects from `localAddress` to `127.0.0.1:<port>` and sends nothing. */
export async function connectFrom(
  localAddress: string,
  port: number,
): Promise<SourcedSocket> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => resolve())
  );
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return {
    socket,
    closed,
    async [Symbol.asyncDispose]() {
      socket.destroy();
      await closed;
    },
  };
}

/** A WebSocket handshake's status, and the socket, held open on a 101. */
export interface SourcedHandshake extends SourcedSocket {
  /** The HTTP status the server answered. */
  readonly status: number;
}

/**
 * Sends a WebSocket handshake from `localAddress` to the URL's path on
 * 127.0.0.1, with any extra headers, and reads the status; on 101 the socket stays open (a call the
 * server holds) until disposed.
 */
export async function handshakeFrom(
  localAddress: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<SourcedHandshake> {
  const target = new URL(url);
  const opened = await connectFrom(localAddress, Number(target.port));
  const head = new Promise<string>((resolve) => {
    let text = "";
    const onData = (data: Uint8Array) => {
      text += new TextDecoder().decode(data);
      if (!text.includes("\r\n")) return;
      opened.socket.off("data", onData);
      resolve(text);
    };
    opened.socket.on("data", onData);
    opened.closed.then(() => resolve(text));
  });
  opened.socket.write(
    `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
        .join("") +
      "\r\n",
  );
  const status = /^HTTP\/1\.1 (\d{3})/.exec(await head)?.[1];
  if (status === undefined) {
    await opened[Symbol.asyncDispose]();
    throw new Error(
      `Cannot read HTTP status from ${JSON.stringify(await head)}`,
    );
  }
  return { ...opened, status: Number(status) };
}
