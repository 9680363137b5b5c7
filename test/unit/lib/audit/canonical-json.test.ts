import fc from "fast-check";
import { canonicalJson, storableText, toStorableJsonObject, type JsonValue } from "../../../../lib/audit/canonical-json";

describe("canonicalJson", () => {
  it("sorts keys at every level by UTF-16 code units and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: [{ d: null, c: "x" }], "": true, B: false })).toBe('{"":true,"B":false,"a":[{"c":"x","d":null}],"b":1}');
    // U+FFFD (one unit) sorts after U+1F600 (surrogates D83D DE00): code units, not code points (RFC 8785 §3.2.3).
    expect(canonicalJson({ "\uFFFD": 1, "😀": 2 })).toBe('{"😀":2,"\uFFFD":1}');
  });

  it("writes numbers as ECMAScript does (RFC 8785 §3.2.2.3)", () => {
    expect(canonicalJson([1.0, 1e21, 1e-7, 0.1 + 0.2, -0, 5e-324, 1.7976931348623157e308, 123456789012345680000])).toBe(
      "[1,1e+21,1e-7,0.30000000000000004,0,5e-324,1.7976931348623157e+308,123456789012345680000]",
    );
  });

  it("does not depend on the order keys were inserted in", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse()) as JsonValue;
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj as JsonValue));
        expect(JSON.parse(canonicalJson(obj as JsonValue))).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
    );
  });
});

describe("toStorableJsonObject", () => {
  it("keeps what JSON keeps and makes text storable", () => {
    const at = new Date("2026-01-02T03:04:05.678Z");
    expect(
      toStorableJsonObject({ n: NaN, inf: Infinity, u: undefined, f: () => 1, d: at, big: 12n, nul: "a\u0000b", lone: "x\uD800y", "k\u0000": 1, arr: [undefined, 1] }),
    ).toEqual({ n: null, inf: null, d: "2026-01-02T03:04:05.678Z", big: "12", nul: "a\uFFFDb", lone: "x\uFFFDy", "k\uFFFD": 1, arr: [null, 1] });
  });

  it("wraps a value that is not an object", () => {
    expect(toStorableJsonObject([1])).toEqual({ value: [1] });
    expect(toStorableJsonObject(undefined)).toEqual({});
  });

  it("storableText leaves well-formed text alone", () => {
    const s = "emoji 😀, RTL עברית, combining é, line sep \u2028";
    expect(storableText(s)).toBe(s);
  });
});
