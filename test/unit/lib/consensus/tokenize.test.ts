import { documentTerms, sentences, stem, words } from "../../../../lib/consensus/tokenize";

describe("tokenisation", () => {
  it("splits words of any script, lowercases them and joins apostrophes", () => {
    expect(words("Don't PANIC: ÉLAN vital, naïve café — 42 ΟΔΟΣ")).toEqual(["dont", "panic", "élan", "vital", "naïve", "café", "42", "οδος"]);
    expect(words("The model’s answer")).toEqual(["the", "models", "answer"]);
  });

  it("makes each Han, Hiragana and Katakana character a word", () => {
    expect(words("最大の海は太平洋")).toEqual(["最", "大", "の", "海", "は", "太", "平", "洋"]);
    expect(words("서울은 수도")).toEqual(["서울은", "수도"]);
  });

  it("drops stop words and stems, keeping all words when only stop words remain", () => {
    expect(documentTerms(words("The answers are the studies of these classes"))).toEqual(["answer", "study", "classe"]);
    expect(documentTerms(words("Yes it is"))).toEqual(["yes"]);
    expect(documentTerms(words("It is"))).toEqual(["it", "is"]);
    expect(stem("analysis")).toBe("analysis");
    expect(stem("bus")).toBe("bus");
    expect(stem("größe")).toBe("größe");
  });

  it("cuts sentences at terminators, line breaks and CJK stops, dropping list markers", () => {
    expect(sentences("First one. Second one!\n- third item\n2) fourth\nPi is 3.14 here。最後")).toEqual([
      "First one.",
      "Second one!",
      "third item",
      "fourth",
      "Pi is 3.14 here。",
      "最後",
    ]);
    expect(sentences("  \n\n ")).toEqual([]);
  });
});
