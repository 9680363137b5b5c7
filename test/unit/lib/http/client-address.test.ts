import fc from "fast-check";
import { canonicalAddress, clientAddress, invalidProxyEntries, TrustedProxies } from "../../../../lib/http/client-address";
import { ConfigError } from "../../../../lib/errors";

const proxies = new TrustedProxies(["10.0.0.0/8", "192.168.1.1", "fd00::/8", "::1"]);
const none = new TrustedProxies([]);

describe("clientAddress", () => {
  it("is the socket peer when no proxy is trusted, whatever X-Forwarded-For claims", () => {
    expect(clientAddress("203.0.113.7", "1.1.1.1", none)).toBe("203.0.113.7");
    expect(clientAddress("10.0.0.2", "1.1.1.1", none)).toBe("10.0.0.2");
  });

  it("ignores a spoofed X-Forwarded-For from an untrusted peer", () => {
    expect(clientAddress("203.0.113.7", "10.0.0.5, 1.1.1.1", proxies)).toBe("203.0.113.7");
    expect(clientAddress("::ffff:203.0.113.7", "1.1.1.1", proxies)).toBe("203.0.113.7");
  });

  it("walks a chain of trusted proxies from the right to the first untrusted hop", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.9", proxies)).toBe("198.51.100.9");
    // The client claimed 6.6.6.6; its real address was appended by the first proxy.
    expect(clientAddress("10.0.0.1", "6.6.6.6, 198.51.100.9, 192.168.1.1, 10.1.2.3", proxies)).toBe("198.51.100.9");
    // Several header lines count as one list.
    expect(clientAddress("10.0.0.1", ["6.6.6.6, 198.51.100.9", "10.1.2.3"], proxies)).toBe("198.51.100.9");
    // Every hop trusted: the leftmost is as far as we can see.
    expect(clientAddress("10.0.0.1", "10.9.9.9, 10.1.2.3", proxies)).toBe("10.9.9.9");
    // A trusted peer that sends no header is the client itself.
    expect(clientAddress("10.0.0.1", undefined, proxies)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", "", proxies)).toBe("10.0.0.1");
  });

  it("handles IPv6, IPv4-mapped peers and entries with ports", () => {
    expect(clientAddress("::1", "2001:DB8:0::1", proxies)).toBe("2001:db8::1");
    expect(clientAddress("::ffff:10.0.0.1", "198.51.100.9", proxies)).toBe("198.51.100.9");
    expect(clientAddress("fd12::1", "[2001:db8::2]:443, fd00::7", proxies)).toBe("2001:db8::2");
    expect(clientAddress("10.0.0.1", "198.51.100.9:5123", proxies)).toBe("198.51.100.9");
    expect(clientAddress("10.0.0.1", "::ffff:198.51.100.9", proxies)).toBe("198.51.100.9");
    // Trusted as an IPv4-mapped range, the IPv4 peer is trusted too.
    expect(clientAddress("127.0.0.1", "198.51.100.9", new TrustedProxies(["::ffff:127.0.0.0/104"]))).toBe("198.51.100.9");
    expect(clientAddress("::ffff:127.0.0.1", "198.51.100.9", new TrustedProxies(["loopback"]))).toBe("198.51.100.9");
  });

  it("stops at an unreadable entry: the client is the hop that reported it", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.9, garbage", proxies)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", "garbage, 10.2.2.2", proxies)).toBe("10.2.2.2");
    expect(clientAddress("10.0.0.1", "unknown, 198.51.100.9", proxies)).toBe("198.51.100.9");
    expect(clientAddress("10.0.0.1", " , 198.51.100.9 ,, ", proxies)).toBe("198.51.100.9");
    for (const bad of ["999.1.1.1", "01.2.3.4", "1.2.3.4:99999", "[1.2.3.4", "::gggg", "<script>", "1.2.3.4/8"]) {
      expect([bad, clientAddress("10.0.0.1", bad, proxies)]).toEqual([bad, "10.0.0.1"]);
    }
  });

  it("is undefined only when the peer is unknown, and never throws on any header", () => {
    expect(clientAddress(undefined, "1.1.1.1", proxies)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        const found = clientAddress("10.0.0.1", header, proxies);
        expect(found === "10.0.0.1" || canonicalAddress(found!) === found).toBe(true);
      }),
    );
  });
});

describe("TrustedProxies", () => {
  it("reads IPs, CIDR ranges of both families, and range names", () => {
    const t = new TrustedProxies(["10.0.0.0/8", "2001:db8::/32", "::ffff:172.16.0.1", " uniquelocal "]);
    expect(["10.255.0.1", "2001:db8:ffff::1", "172.16.0.1", "192.168.3.4", "fd00::1"].every((a) => t.has(a))).toBe(true);
    expect(["11.0.0.1", "2001:db9::1", "8.8.8.8", "::1"].some((a) => t.has(a))).toBe(false);
  });

  it("names every entry it cannot read", () => {
    expect(invalidProxyEntries(["10.0.0.0/8", "10.0.0.0/33", "fd00::/129", "proxy.local", "1.2.3.4/", "1.2.3.4/8/8", "::ffff:10.0.0.0/80"])).toEqual([
      "10.0.0.0/33",
      "fd00::/129",
      "proxy.local",
      "1.2.3.4/",
      "1.2.3.4/8/8",
      "::ffff:10.0.0.0/80",
    ]);
    expect(() => new TrustedProxies(["nope"])).toThrow(ConfigError);
  });
});
