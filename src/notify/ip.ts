/**
 * IP literals: strict parsing of IPv4 and IPv6 text and the ranges an outbound request must never reach
 * (private, loopback, link-local, metadata, unique-local, multicast, documentation, IPv4 aliases in IPv6).
 */

/** Parses strict dotted-decimal IPv4 ("10.0.0.1"); numeric aliases such as "0x7f.1" are not IPv4 here. */
export function parseIPv4(text: string): [number, number, number, number] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets = parts.map((p) => (/^(0|[1-9][0-9]{0,2})$/.test(p) ? Number(p) : NaN));
  if (octets.some((o) => !(o >= 0 && o <= 255))) return undefined;
  return octets as [number, number, number, number];
}

/** Parses IPv6 text (brackets allowed, "::" and a trailing dotted IPv4 allowed) into 8 16-bit groups. */
export function parseIPv6(text: string): number[] | undefined {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!s.includes(":") || s.includes("%")) return undefined;
  const lastColon = s.lastIndexOf(":");
  const last = s.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    s = `${s.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const group = (g: string) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN);
  const head = halves[0] ? halves[0].split(":").map(group) : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":").map(group) : [];
  if ([...head, ...rest].some(Number.isNaN)) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1) return known === 8 ? head : undefined;
  if (known > 7) return undefined;
  return [...head, ...new Array(8 - known).fill(0), ...rest];
}

/** Whether `host` (a URL hostname or a DNS answer) is an IP literal. */
export function isIpLiteral(host: string): boolean {
  return parseIPv4(host) !== undefined || parseIPv6(host) !== undefined;
}

const V4_RANGES: readonly [number, number, number, string][] = [
  // [first octet, second octet, prefix length (at most 16), why]
  [0, 0, 8, 'a "this network" address (0.0.0.0/8)'],
  [10, 0, 8, "a private address (10.0.0.0/8)"],
  [100, 64, 10, "a carrier-grade NAT address (100.64.0.0/10)"],
  [127, 0, 8, "a loopback address (127.0.0.0/8)"],
  [169, 254, 16, "a link-local address (169.254.0.0/16, cloud metadata)"],
  [172, 16, 12, "a private address (172.16.0.0/12)"],
  [192, 168, 16, "a private address (192.168.0.0/16)"],
  [198, 18, 15, "a benchmarking address (198.18.0.0/15)"],
  [224, 0, 4, "a multicast address (224.0.0.0/4)"],
  [240, 0, 4, "a reserved address (240.0.0.0/4)"],
];

const V4_SLASH24: Readonly<Record<string, string>> = {
  "192.0.0": "an IETF protocol address (192.0.0.0/24)",
  "192.0.2": "a documentation address (192.0.2.0/24)",
  "192.88.99": "a 6to4 relay address (192.88.99.0/24)",
  "198.51.100": "a documentation address (198.51.100.0/24)",
  "203.0.113": "a documentation address (203.0.113.0/24)",
};

/** Why an IPv4 address must not be reached, or undefined for a public address. */
export function ipv4RefusalReason(o: readonly number[]): string | undefined {
  const top16 = ((o[0]! << 8) | o[1]!) >>> 0;
  for (const [a, b, bits, label] of V4_RANGES) {
    const mask = (0xffff << (16 - bits)) & 0xffff;
    if ((top16 & mask) === (((a << 8) | b) & mask)) return label;
  }
  return V4_SLASH24[`${o[0]}.${o[1]}.${o[2]}`];
}

function embeddedV4(g: readonly number[]): string {
  return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join(".");
}

/** Why an IPv6 address must not be reached, or undefined for a public address. */
export function ipv6RefusalReason(g: readonly number[]): string | undefined {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return "the unspecified address (::)";
  if (zeroUpTo(7) && g[7] === 1) return "a loopback address (::1)";
  if (zeroUpTo(5) && g[5] === 0xffff) return `an IPv4-mapped alias of ${embeddedV4(g)} (::ffff:0:0/96)`;
  if (zeroUpTo(6)) return `an IPv4-compatible alias of ${embeddedV4(g)} (::/96)`;
  if (g[0] === 0x64 && g[1] === 0xff9b) return `a NAT64 alias of ${embeddedV4(g)} (64:ff9b::/32)`;
  if (g[0] === 0x2002) return "a 6to4 address (2002::/16)";
  if (g[0] === 0x2001 && g[1] === 0) return "a Teredo address (2001::/32)";
  if (g[0] === 0x2001 && g[1] === 0xdb8) return "a documentation address (2001:db8::/32)";
  if (g[0] === 0x100 && zeroUpTo(4)) return "a discard-only address (100::/64)";
  if ((g[0]! & 0xfe00) === 0xfc00) return "a unique-local address (fc00::/7)";
  if ((g[0]! & 0xffc0) === 0xfe80) return "a link-local address (fe80::/10)";
  if ((g[0]! & 0xffc0) === 0xfec0) return "a site-local address (fec0::/10)";
  if ((g[0]! & 0xff00) === 0xff00) return "a multicast address (ff00::/8)";
  return undefined;
}

/** Why an IP literal must not be reached; undefined for a public address or a text that is not an IP. */
export function ipRefusalReason(address: string): string | undefined {
  const v4 = parseIPv4(address);
  if (v4) return ipv4RefusalReason(v4);
  const v6 = parseIPv6(address);
  return v6 ? ipv6RefusalReason(v6) : undefined;
}
