import assert from "node:assert/strict";
import {
  concatBytes,
  createFrameDecoder,
  encodeFrame,
  OPCODE,
  type ServerFrame,
} from "../../src/simulator/_websocket_frames.ts";

const encoder = new TextEncoder();

/** Options of {@linkcode serverFrame}. */
interface FrameOptions {
  /** FIN, default true. */
  fin?: boolean;
  /** RSV1..RSV3 as the bits 0x40, 0x20, 0x10 of the first byte. */
  rsv?: number;
  /** The masking key; a server sends none. */
  mask?: number[];
}

/** The bytes of a frame as a server writes them, built by hand. */
function serverFrame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  options: FrameOptions = {},
): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const head = [
    (options.fin === false ? 0 : 0x80) | (options.rsv ?? 0) | opcode,
  ];
  const maskBit = options.mask === undefined ? 0 : 0x80;
  if (data.length < 126) {
    head.push(maskBit | data.length);
  } else if (data.length < 65536) {
    head.push(maskBit | 126, data.length >> 8, data.length & 0xff);
  } else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    for (const shift of [24, 16, 8, 0]) {
      head.push((data.length >>> shift) & 0xff);
    }
  }
  const mask = options.mask ?? [];
  const body = data.map((byte, index) =>
    mask.length === 0 ? byte : byte ^ mask[index % 4]!
  );
  return concatBytes(new Uint8Array([...head, ...mask]), body);
}

/** A close frame's bytes with `code` and `reason`. */
function closeFrame(code: number, reason = ""): Uint8Array {
  return serverFrame(
    OPCODE.close,
    concatBytes(
      new Uint8Array([code >> 8, code & 0xff]),
      encoder.encode(reason),
    ),
  );
}

/** What a fresh decoder reads from `chunks`, pushed one after the other. */
function decode(...chunks: Uint8Array[]): ServerFrame[] {
  const decoder = createFrameDecoder();
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

/** `count` bytes counting up from 0, wrapping at 256. */
function bytes(count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, index) => index & 0xff);
}

Deno.test("encodeFrame() masks the payload as RFC 6455 §5.7 shows", () => {
  assert.deepStrictEqual(
    encodeFrame(
      OPCODE.text,
      encoder.encode("Hello"),
      new Uint8Array([0x37, 0xfa, 0x21, 0x3d]),
    ),
    new Uint8Array([
      0x81,
      0x85,
      0x37,
      0xfa,
      0x21,
      0x3d,
      0x7f,
      0x9f,
      0x4d,
      0x51,
      0x58,
    ]),
  );
});

Deno.test("encodeFrame() with the all-zero mask leaves the payload as it is", () => {
  assert.deepStrictEqual(
    encodeFrame(OPCODE.text, encoder.encode("Hello"), new Uint8Array(4)),
    new Uint8Array([0x81, 0x85, 0, 0, 0, 0, ...encoder.encode("Hello")]),
  );
});

Deno.test("encodeFrame() uses the 16-bit and 64-bit length headers from 126 and 65536 bytes", async (t) => {
  const mask = new Uint8Array([1, 2, 3, 4]);
  const table: Array<[number, number[]]> = [
    [125, [0x82, 0x80 | 125]],
    [126, [0x82, 0x80 | 126, 0x00, 0x7e]],
    [65535, [0x82, 0x80 | 126, 0xff, 0xff]],
    [65536, [0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0]],
  ];
  for (const [length, head] of table) {
    await t.step(`${length} bytes`, () => {
      const payload = bytes(length);
      const frame = encodeFrame(OPCODE.binary, payload, mask);
      assert.deepStrictEqual([...frame.subarray(0, head.length)], head);
      assert.deepStrictEqual(
        [...frame.subarray(head.length, head.length + 4)],
        [...mask],
      );
      const body = frame.subarray(head.length + 4);
      assert.equal(body.length, length);
      assert.deepStrictEqual(
        body.map((byte, index) => byte ^ mask[index % 4]!),
        payload,
      );
    });
  }
});

Deno.test("encodeFrame() draws a mask when none is given", () => {
  const frame = encodeFrame(OPCODE.close, new Uint8Array([0x03, 0xe8]));
  assert.equal(frame.length, 2 + 4 + 2);
  assert.deepStrictEqual([...frame.subarray(0, 2)], [0x88, 0x82]);
  const mask = frame.subarray(2, 6);
  assert.deepStrictEqual(
    [...frame.subarray(6).map((byte, index) => byte ^ mask[index]!)],
    [0x03, 0xe8],
  );
});

Deno.test("createFrameDecoder() reads the unmasked frames of RFC 6455 §5.7", async (t) => {
  await t.step("a single-frame text message", () => {
    assert.deepStrictEqual(
      decode(new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])),
      [{ type: "message", data: "Hello" }],
    );
  });
  await t.step("a fragmented text message", () => {
    assert.deepStrictEqual(
      decode(
        new Uint8Array([0x01, 0x03, 0x48, 0x65, 0x6c]),
        new Uint8Array([0x80, 0x02, 0x6c, 0x6f]),
      ),
      [{ type: "message", data: "Hello" }],
    );
  });
  await t.step("a ping and a pong", () => {
    assert.deepStrictEqual(
      decode(
        new Uint8Array([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
        new Uint8Array([0x8a, 0x00]),
      ),
      [
        { type: "ping", payload: encoder.encode("Hello") },
        { type: "pong", payload: new Uint8Array(0) },
      ],
    );
  });
  await t.step("256 bytes in one binary frame (16-bit length)", () => {
    assert.deepStrictEqual(
      decode(concatBytes(new Uint8Array([0x82, 0x7e, 0x01, 0x00]), bytes(256))),
      [{ type: "message", data: bytes(256) }],
    );
  });
  await t.step("64 KiB in one binary frame (64-bit length)", () => {
    assert.deepStrictEqual(
      decode(
        concatBytes(
          new Uint8Array([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]),
          bytes(65536),
        ),
      ),
      [{ type: "message", data: bytes(65536) }],
    );
  });
});

Deno.test("createFrameDecoder() joins a message sent in fragments", async (t) => {
  await t.step("text cut inside a UTF-8 character", () => {
    const text = encoder.encode('{"content":"café ☕"}');
    const cut = text.indexOf(0xe2) + 1; // inside the three bytes of ☕
    assert.deepStrictEqual(
      decode(
        serverFrame(OPCODE.text, text.subarray(0, 5), { fin: false }),
        serverFrame(OPCODE.continuation, text.subarray(5, cut), {
          fin: false,
        }),
        serverFrame(OPCODE.continuation, text.subarray(cut)),
      ),
      [{ type: "message", data: '{"content":"café ☕"}' }],
    );
  });
  await t.step("binary, with an empty fragment", () => {
    assert.deepStrictEqual(
      decode(
        serverFrame(OPCODE.binary, bytes(3), { fin: false }),
        serverFrame(OPCODE.continuation, new Uint8Array(0), { fin: false }),
        serverFrame(OPCODE.continuation, bytes(200)),
      ),
      [{ type: "message", data: concatBytes(bytes(3), bytes(200)) }],
    );
  });
  await t.step("with a ping and a pong between the fragments", () => {
    assert.deepStrictEqual(
      decode(
        serverFrame(OPCODE.text, "Hel", { fin: false }),
        serverFrame(OPCODE.ping, "are you there"),
        serverFrame(OPCODE.pong, "yes"),
        serverFrame(OPCODE.continuation, "lo"),
      ),
      [
        { type: "ping", payload: encoder.encode("are you there") },
        { type: "pong", payload: encoder.encode("yes") },
        { type: "message", data: "Hello" },
      ],
    );
  });
  await t.step("two messages in a row, each whole", () => {
    assert.deepStrictEqual(
      decode(
        serverFrame(OPCODE.text, "one", { fin: false }),
        serverFrame(OPCODE.continuation, " two"),
        serverFrame(OPCODE.text, "three"),
      ),
      [
        { type: "message", data: "one two" },
        { type: "message", data: "three" },
      ],
    );
  });
});

Deno.test("createFrameDecoder() reads a close frame", async (t) => {
  await t.step("with a code and a reason", () => {
    assert.deepStrictEqual(decode(closeFrame(1000, "bye ✓")), [
      { type: "close", code: 1000, reason: "bye ✓" },
    ]);
  });
  await t.step("without a code: 1005", () => {
    assert.deepStrictEqual(decode(serverFrame(OPCODE.close)), [
      { type: "close", code: 1005, reason: "" },
    ]);
  });
  await t.step("split across writes, at every byte", () => {
    const frame = closeFrame(1011, "internal error");
    for (let cut = 0; cut <= frame.length; cut++) {
      const decoder = createFrameDecoder();
      const first = decoder.push(frame.subarray(0, cut));
      const second = decoder.push(frame.subarray(cut));
      assert.deepStrictEqual(
        [first, second],
        cut === frame.length
          ? [[{ type: "close", code: 1011, reason: "internal error" }], []]
          : [[], [{ type: "close", code: 1011, reason: "internal error" }]],
        `cut at ${cut}`,
      );
    }
  });
  await t.step("and nothing after it", () => {
    const decoder = createFrameDecoder();
    assert.deepStrictEqual(
      decoder.push(
        concatBytes(closeFrame(1000), serverFrame(OPCODE.text, "late")),
      ),
      [{ type: "close", code: 1000, reason: "" }],
    );
    assert.deepStrictEqual(decoder.push(serverFrame(OPCODE.text, "later")), []);
  });
});

Deno.test("createFrameDecoder() reads the same frames however the bytes are cut", async (t) => {
  const stream = concatBytes(
    serverFrame(OPCODE.text, '{"response_type":"config"}'),
    serverFrame(OPCODE.text, '{"content":"Hé', { fin: false }),
    serverFrame(OPCODE.ping, "1"),
    serverFrame(OPCODE.continuation, 'llo"}'),
    serverFrame(OPCODE.binary, bytes(300)),
    serverFrame(OPCODE.binary, bytes(65536 + 7)),
    serverFrame(OPCODE.text, ""),
    closeFrame(1000, "done"),
  );
  const whole = decode(stream);
  assert.deepStrictEqual(whole.map((frame) => frame.type), [
    "message",
    "ping",
    "message",
    "message",
    "message",
    "message",
    "close",
  ]);
  assert.deepStrictEqual(whole[2], {
    type: "message",
    data: '{"content":"Héllo"}',
  });

  await t.step("in two reads, cut at every offset of the first frames", () => {
    // Every cut inside the frames before the large one, and around it.
    const cuts = [
      ...Array.from({ length: 400 }, (_, index) => index),
      stream.length - 20,
      stream.length - 1,
    ];
    for (const cut of cuts) {
      assert.deepStrictEqual(
        decode(stream.subarray(0, cut), stream.subarray(cut)),
        whole,
        `cut at ${cut}`,
      );
    }
  });
  await t.step("one byte per read", () => {
    const decoder = createFrameDecoder();
    const frames: ServerFrame[] = [];
    for (let index = 0; index < stream.length; index++) {
      frames.push(...decoder.push(stream.subarray(index, index + 1)));
    }
    assert.deepStrictEqual(frames, whole);
  });
  await t.step("in reads into one reused buffer", () => {
    // A socket reader reuses its buffer: the decoder must keep copies.
    const decoder = createFrameDecoder();
    const frames: ServerFrame[] = [];
    const buffer = new Uint8Array(1000);
    for (let offset = 0; offset < stream.length; offset += buffer.length) {
      const piece = stream.subarray(offset, offset + buffer.length);
      buffer.set(piece);
      frames.push(...decoder.push(buffer.subarray(0, piece.length)));
      buffer.fill(0xee);
    }
    assert.deepStrictEqual(frames, whole);
  });
});

Deno.test("createFrameDecoder() keeps a leading byte order mark in text", () => {
  // Retell's JSON.parse refuses "\uFEFF{...}"; the simulator must see it too.
  assert.deepStrictEqual(
    decode(
      serverFrame(
        OPCODE.text,
        concatBytes(new Uint8Array([0xef, 0xbb, 0xbf]), encoder.encode("{}")),
      ),
    ),
    [{ type: "message", data: "\uFEFF{}" }],
  );
});

Deno.test("createFrameDecoder() accepts every close code a server may send", () => {
  for (
    const code of [
      1000,
      1001,
      1002,
      1003,
      1007,
      1011,
      1012,
      1014,
      3000,
      4000,
      4999,
    ]
  ) {
    assert.deepStrictEqual(decode(closeFrame(code)), [
      { type: "close", code, reason: "" },
    ], String(code));
  }
});

Deno.test("createFrameDecoder() gives an error for bytes RFC 6455 forbids, and reads nothing after", async (t) => {
  const table: Array<
    [string, Uint8Array[], ServerFrame[], 1002 | 1007 | 1009, string]
  > = [
    [
      "reserved bit RSV1",
      [serverFrame(OPCODE.text, "hi", { rsv: 0x40 })],
      [],
      1002,
      "a text frame has reserved bits set (0x40), and no extension was agreed",
    ],
    [
      "reserved bits RSV2 and RSV3",
      [serverFrame(OPCODE.binary, "hi", { rsv: 0x30 })],
      [],
      1002,
      "a binary frame has reserved bits set (0x30), and no extension was agreed",
    ],
    [
      "a reserved bit on a ping between fragments",
      [
        serverFrame(OPCODE.text, "Hel", { fin: false }),
        serverFrame(OPCODE.ping, "", { rsv: 0x10 }),
      ],
      [],
      1002,
      "a ping frame has reserved bits set (0x10), and no extension was agreed",
    ],
    [
      "opcode 0x3",
      [serverFrame(0x3, "hi")],
      [],
      1002,
      "opcode 0x3 is not defined",
    ],
    ["opcode 0xb", [serverFrame(0xb)], [], 1002, "opcode 0xb is not defined"],
    [
      "a masked frame",
      [serverFrame(OPCODE.text, "Hello", { mask: [0x37, 0xfa, 0x21, 0x3d] })],
      [],
      1002,
      "a text frame is masked, and a server must not mask",
    ],
    [
      "a continuation with no message",
      [serverFrame(OPCODE.continuation, "lo")],
      [],
      1002,
      "a continuation frame has no message to continue",
    ],
    [
      "a continuation after a whole message",
      [
        serverFrame(OPCODE.text, "Hello"),
        serverFrame(OPCODE.continuation, " again"),
      ],
      [{ type: "message", data: "Hello" }],
      1002,
      "a continuation frame has no message to continue",
    ],
    [
      "a new message inside a fragmented one",
      [
        serverFrame(OPCODE.text, "Hel", { fin: false }),
        serverFrame(OPCODE.text, "lo"),
      ],
      [],
      1002,
      "a text frame starts a message before the fragmented one ended",
    ],
    [
      "a fragmented ping",
      [serverFrame(OPCODE.ping, "p", { fin: false })],
      [],
      1002,
      "a ping frame is fragmented, and control frames cannot be",
    ],
    [
      "a ping of 126 bytes",
      [serverFrame(OPCODE.ping, bytes(126))],
      [],
      1002,
      "a ping frame carries 126 bytes, and control frames carry at most 125",
    ],
    [
      "a close frame of 1 byte",
      [serverFrame(OPCODE.close, new Uint8Array([0x03]))],
      [],
      1002,
      "a close frame carries 1 byte, too few for a code",
    ],
    ...[999, 1004, 1005, 1006, 1015, 2999, 5000].map((
      code,
    ): [string, Uint8Array[], ServerFrame[], 1002, string] => [
      `close code ${code}`,
      [closeFrame(code)],
      [],
      1002,
      `a close frame carries code ${code}, which may not be sent`,
    ]),
    [
      "text that is not UTF-8",
      [serverFrame(OPCODE.text, new Uint8Array([0x48, 0xff]))],
      [],
      1007,
      "a text message is not valid UTF-8",
    ],
    [
      "text whose fragments end inside a character",
      [
        serverFrame(OPCODE.text, new Uint8Array([0x48, 0xe2, 0x98]), {
          fin: false,
        }),
        serverFrame(OPCODE.continuation, new Uint8Array(0)),
      ],
      [],
      1007,
      "a text message is not valid UTF-8",
    ],
    [
      "a close reason that is not UTF-8",
      [serverFrame(OPCODE.close, new Uint8Array([0x03, 0xe8, 0xc3]))],
      [],
      1007,
      "a close reason is not valid UTF-8",
    ],
    [
      "a 64-bit length of 1 TiB, before any payload",
      [new Uint8Array([0x82, 0x7f, 0, 0, 0x01, 0, 0, 0, 0, 0])],
      [],
      1009,
      "a message of 1099511627776 bytes or more is above the limit of 67108864",
    ],
  ];
  for (const [name, chunks, before, code, detail] of table) {
    await t.step(name, () => {
      const decoder = createFrameDecoder();
      assert.deepStrictEqual(chunks.flatMap((chunk) => decoder.push(chunk)), [
        ...before,
        {
          type: "error",
          code,
          reason: `Cannot read the server's frames: ${detail}`,
        },
      ]);
      assert.deepStrictEqual(
        decoder.push(serverFrame(OPCODE.text, "more")),
        [],
      );
    });
  }
});

Deno.test("createFrameDecoder() limits the size of a message, fragments included", () => {
  const decoder = createFrameDecoder({ maxMessageBytes: 10 });
  assert.deepStrictEqual(
    decoder.push(
      concatBytes(
        serverFrame(OPCODE.binary, bytes(10)),
        serverFrame(OPCODE.text, "12345", { fin: false }),
      ),
    ),
    [{ type: "message", data: bytes(10) }],
  );
  // The second fragment's header is enough: its payload never has to come.
  assert.deepStrictEqual(
    decoder.push(serverFrame(OPCODE.continuation, "678901").subarray(0, 2)),
    [{
      type: "error",
      code: 1009,
      reason:
        "Cannot read the server's frames: a message of 11 bytes or more is above the limit of 10",
    }],
  );
});
