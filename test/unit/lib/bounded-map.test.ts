import { setBounded } from "../../../lib/bounded-map";

describe("setBounded", () => {
  it("forgets the oldest entry when the map is full, keeps the rest in order", () => {
    const map = new Map<string, number>();
    for (const [i, key] of ["a", "b", "c", "d"].entries()) setBounded(map, key, i, 3);
    expect([...map]).toEqual([
      ["b", 1],
      ["c", 2],
      ["d", 3],
    ]);
  });

  it("adds without forgetting while there is room", () => {
    const map = new Map([["a", 1]]);
    setBounded(map, "b", 2, 3);
    expect([...map.keys()]).toEqual(["a", "b"]);
  });
});
