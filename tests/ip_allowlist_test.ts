import assert from "node:assert/strict";
import { createIpAllowlist } from "../src/ip_allowlist.ts";

/** One rule list, and the addresses it must allow and refuse. */
interface Case {
  rules: string[];
  allowed: string[];
  refused: string[];
}

function check(cases: readonly Case[]): void {
  for (const { rules, allowed, refused } of cases) {
    const isAllowed = createIpAllowlist(rules);
    for (const address of allowed) {
      assert.equal(isAllowed(address), true, `${rules} allows "${address}"`);
    }
    for (const address of refused) {
      assert.equal(isAllowed(address), false, `${rules} refuses "${address}"`);
    }
  }
}

Deno.test("createIpAllowlist() matches the default Retell address when it is the only rule", () => {
  check([{
    rules: ["100.20.5.228"],
    allowed: ["100.20.5.228", "::ffff:100.20.5.228", "::ffff:6414:5e4"],
    refused: ["100.20.5.229", "100.20.5.227", "127.0.0.1", "0.0.0.0", "::1"],
  }]);
});

Deno.test("createIpAllowlist() matches an IPv4 address exactly when the rule is an address", () => {
  check([
    {
      rules: ["10.1.2.3"],
      allowed: ["10.1.2.3"],
      refused: ["10.1.2.4", "10.1.2.2", "11.1.2.3", "10.1.2.30", "10.1.2"],
    },
    {
      rules: ["0.0.0.0", "255.255.255.255"],
      allowed: ["0.0.0.0", "255.255.255.255"],
      refused: ["0.0.0.1", "255.255.255.254", "::"],
    },
    {
      rules: ["  100.20.5.228\t"],
      allowed: ["100.20.5.228"],
      refused: [" 100.20.5.228", "100.20.5.228 "],
    },
  ]);
});

Deno.test("createIpAllowlist() matches IPv4 CIDR ranges up to their edges when the rule has a prefix", () => {
  check([
    {
      rules: ["0.0.0.0/0"],
      allowed: ["0.0.0.0", "100.20.5.228", "255.255.255.255", "::ffff:1.2.3.4"],
      refused: [
        "::",
        "::1",
        "2001:db8::1",
        "::fffe:1.2.3.4",
        "64:ff9b::6414:5e4",
      ],
    },
    {
      rules: ["10.0.0.0/8"],
      allowed: ["10.0.0.0", "10.255.255.255", "10.1.2.3"],
      refused: ["9.255.255.255", "11.0.0.0"],
    },
    {
      rules: ["192.168.1.0/24"],
      allowed: ["192.168.1.0", "192.168.1.255", "192.168.1.77"],
      refused: ["192.168.0.255", "192.168.2.0"],
    },
    {
      rules: ["192.168.1.4/31"],
      allowed: ["192.168.1.4", "192.168.1.5"],
      refused: ["192.168.1.3", "192.168.1.6"],
    },
    {
      rules: ["192.168.1.4/32"],
      allowed: ["192.168.1.4"],
      refused: ["192.168.1.3", "192.168.1.5"],
    },
    {
      rules: ["100.20.5.0/24"],
      allowed: ["100.20.5.228", "100.20.5.229"],
      refused: ["100.20.6.1", "100.20.4.255"],
    },
  ]);
});

Deno.test("createIpAllowlist() matches the network when a CIDR rule has host bits set", () => {
  check([
    {
      rules: ["10.1.2.3/8"],
      allowed: ["10.0.0.0", "10.255.255.255"],
      refused: ["11.0.0.0", "9.255.255.255"],
    },
    {
      rules: ["2001:db8::1/32"],
      allowed: ["2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"],
      refused: ["2001:db9::"],
    },
  ]);
});

Deno.test("createIpAllowlist() matches an IPv6 address in any textual form when the rule is an address", () => {
  const forms = [
    "2001:db8::1",
    "2001:0db8:0000:0000:0000:0000:0000:0001",
    "2001:DB8::1",
    "2001:db8:0:0:0:0:0:1",
    "2001:db8::0:1",
    "2001:0DB8:0:0::1",
  ];
  check(forms.map((rule) => ({
    rules: [rule],
    allowed: forms,
    refused: ["2001:db8::2", "2001:db8::1:0", "2001:db9::1", "::1", "1.0.0.0"],
  })));
});

Deno.test("createIpAllowlist() matches compressed forms when zeros sit at either end", () => {
  check([
    {
      rules: ["::"],
      allowed: ["::", "0:0:0:0:0:0:0:0", "::0.0.0.0"],
      refused: ["::1", "0.0.0.0", "::ffff:0.0.0.0"],
    },
    {
      rules: ["1::"],
      allowed: ["1:0:0:0:0:0:0:0", "1::"],
      refused: ["::1", "1::1"],
    },
    {
      rules: ["1:2:3:4:5:6:7::"],
      allowed: ["1:2:3:4:5:6:7:0"],
      refused: ["1:2:3:4:5:6:7:8"],
    },
    {
      rules: ["::2:3:4:5:6:7:8"],
      allowed: ["0:2:3:4:5:6:7:8"],
      refused: ["1:2:3:4:5:6:7:8"],
    },
    {
      rules: ["1:2:3:4:5:6:1.2.3.4"],
      allowed: ["1:2:3:4:5:6:102:304"],
      refused: ["1.2.3.4"],
    },
  ]);
});

Deno.test("createIpAllowlist() matches IPv6 CIDR ranges up to their edges when the rule has a prefix", () => {
  check([
    {
      rules: ["::/0"],
      allowed: [
        "::",
        "::1",
        "2001:db8::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "1.2.3.4",
      ],
      refused: ["", "not-an-ip"],
    },
    {
      rules: ["2001:db8::/32"],
      allowed: [
        "2001:db8::",
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:db8:1::5",
      ],
      refused: ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::"],
    },
    {
      rules: ["2001:db8:1:2::/64"],
      allowed: ["2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff"],
      refused: ["2001:db8:1:1:ffff:ffff:ffff:ffff", "2001:db8:1:3::"],
    },
    {
      rules: ["2001:db8::4/127"],
      allowed: ["2001:db8::4", "2001:db8::5"],
      refused: ["2001:db8::3", "2001:db8::6"],
    },
    {
      rules: ["2001:db8::4/128"],
      allowed: ["2001:db8::4"],
      refused: ["2001:db8::3", "2001:db8::5"],
    },
    {
      rules: ["2001:db8:8000::/33"],
      allowed: ["2001:db8:8000::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"],
      refused: ["2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", "2001:db9::"],
    },
  ]);
});

Deno.test("createIpAllowlist() matches loopback when the rule is ::1", () => {
  check([{
    rules: ["::1"],
    allowed: ["::1", "0:0:0:0:0:0:0:1", "::0:1"],
    refused: ["::", "::2", "127.0.0.1", "::ffff:127.0.0.1"],
  }]);
});

Deno.test("createIpAllowlist() matches IPv4-mapped peers when the rule is IPv4", () => {
  check([
    {
      rules: ["100.20.5.228"],
      allowed: [
        "::ffff:100.20.5.228",
        "::FFFF:6414:05E4",
        "0:0:0:0:0:ffff:6414:5e4",
      ],
      refused: ["::ffff:100.20.5.229", "::ffff:6414:5e5", "::100.20.5.228"],
    },
    {
      rules: ["10.0.0.0/8"],
      allowed: [
        "::ffff:10.1.2.3",
        "::ffff:a01:203",
        "::ffff:10.0.0.0",
        "::ffff:10.255.255.255",
      ],
      refused: ["::ffff:11.0.0.0", "::ffff:b00:0", "::ffff:9.255.255.255"],
    },
  ]);
});

Deno.test("createIpAllowlist() matches plain IPv4 peers when the rule is IPv4-mapped", () => {
  check([
    {
      rules: ["::ffff:1.2.3.4"],
      allowed: ["1.2.3.4", "::ffff:1.2.3.4", "::ffff:102:304"],
      refused: ["1.2.3.5", "::1.2.3.4"],
    },
    {
      rules: ["::ffff:10.0.0.0/104"],
      allowed: ["10.0.0.0", "10.255.255.255"],
      refused: ["11.0.0.0"],
    },
    {
      rules: ["::ffff:0:0/96"],
      allowed: ["0.0.0.0", "255.255.255.255"],
      refused: ["::", "::1"],
    },
  ]);
});

Deno.test("createIpAllowlist() refuses genuine IPv6 peers when the rule is IPv4", () => {
  check([{
    rules: ["100.20.5.228", "100.20.5.0/24"],
    allowed: [],
    refused: [
      "64:ff9b::6414:5e4",
      "64:ff9b::100.20.5.228",
      "::100.20.5.228",
      "::6414:5e4",
      "::fffe:6414:5e4",
      "1::ffff:6414:5e4",
    ],
  }]);
});

Deno.test("createIpAllowlist() ignores the zone id when the peer has one", () => {
  check([
    {
      rules: ["fe80::1"],
      allowed: ["fe80::1%eth0", "fe80::1%1", "fe80::1"],
      refused: [
        "fe80::1%",
        "fe80::2%eth0",
        "%eth0",
        "fe80::1%eth 0",
        "fe80::1%%",
      ],
    },
    {
      rules: ["1.2.3.4"],
      allowed: ["::ffff:1.2.3.4%lo"],
      refused: ["1.2.3.4%eth0"],
    },
  ]);
});

Deno.test("createIpAllowlist() matches every address when a rule is *", () => {
  check([
    {
      rules: ["*"],
      allowed: [
        "100.20.5.228",
        "127.0.0.1",
        "::1",
        "2001:db8::1",
        "::ffff:1.2.3.4",
        "fe80::1%eth0",
      ],
      refused: ["", "not-an-ip", "1.2.3.4.5"],
    },
    {
      rules: ["10.0.0.0/8", " * "],
      allowed: ["8.8.8.8"],
      refused: [],
    },
  ]);
});

Deno.test("createIpAllowlist() matches nobody when the list is empty", () => {
  check([{
    rules: [],
    allowed: [],
    refused: ["100.20.5.228", "127.0.0.1", "::1", "::ffff:100.20.5.228"],
  }]);
});

Deno.test("createIpAllowlist() matches any rule when there are several", () => {
  check([{
    rules: ["100.20.5.228", "10.0.0.0/8", "2001:db8::/32", "::1"],
    allowed: [
      "100.20.5.228",
      "10.9.9.9",
      "2001:db8::7",
      "::1",
      "::ffff:10.0.0.1",
    ],
    refused: ["100.20.5.229", "11.0.0.0", "2001:db9::", "::2", "127.0.0.1"],
  }]);
});

Deno.test("createIpAllowlist() refuses unparseable peers when they are not addresses", () => {
  const garbage = [
    "",
    " ",
    "not-an-ip",
    "1.2.3.4.5",
    "1.2.3",
    "1.2.3.",
    ".1.2.3",
    "1..2.3",
    "1.2.3.256",
    "01.2.3.4",
    "1.2.3.04",
    "1.2.3.4 ",
    "1.2.3.-4",
    "0x1.2.3.4",
    "1.2.3.4/32",
    "[::1]",
    "::1::",
    ":::",
    ":1",
    "1:",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7::8",
    "::1:2:3:4:5:6:7:8",
    "12345::",
    "g::1",
    "::ffff:1.2.3",
    "::ffff:1.2.3.4.5",
    "::ffff:1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1.2.3.4::",
    "::1%",
    "%",
    "localhost",
    "*",
  ];
  check([{ rules: ["*"], allowed: [], refused: garbage }]);
  check([{ rules: ["::/0", "0.0.0.0/0"], allowed: [], refused: garbage }]);
});

Deno.test("createIpAllowlist() throws a TypeError quoting the rule when a rule cannot be parsed", () => {
  const notAnAddress = "not an IPv4 or IPv6 address or CIDR range";
  const cases: [rule: string, reason: string][] = [
    ["100.20.5.0/33", "prefix length must be from 0 to 32"],
    ["2001:db8::/129", "prefix length must be from 0 to 128"],
    ["::ffff:1.2.3.4/129", "prefix length must be from 0 to 128"],
    ["10.0.0.0/", "prefix length is missing after the /"],
    ["10.0.0.0/x", "prefix length must be from 0 to 32"],
    ["10.0.0.0/-1", "prefix length must be from 0 to 32"],
    ["10.0.0.0/08", "prefix length must be from 0 to 32"],
    ["10.0.0.0/8/8", "prefix length must be from 0 to 32"],
    ["abc", notAnAddress],
    ["1.2.3", notAnAddress],
    ["1.2.3.256", notAnAddress],
    ["01.2.3.4", notAnAddress],
    ["1:2:3:4:5:6:7:8:9", notAnAddress],
    ["::1::", notAnAddress],
    ["/8", notAnAddress],
    ["*/0", notAnAddress],
    ["[::1]", notAnAddress],
    ["1.2.3.4:80", notAnAddress],
    ["", "rule is empty"],
    ["   ", "rule is empty"],
    ["fe80::1%eth0", "zone ids are not allowed in rules"],
  ];
  for (const [rule, reason] of cases) {
    assert.throws(() => createIpAllowlist(["10.0.0.0/8", rule]), {
      name: "TypeError",
      message: `Cannot parse IP rule ${JSON.stringify(rule.trim())}: ${reason}`,
    }, rule);
  }
});
