import { describe, expect, it } from "vitest";
import { Interner } from "../../../shared/log/intern.js";

describe("Interner", () => {
  it("knows its fixed values and refuses others", () => {
    const levels = new Interner(["DEBUG", "INFO", "WARN", "ERROR"]);
    for (const level of ["INFO", "WARN", "ERROR", "DEBUG", "INFO"]) expect(levels.get(level)).toBe(level);
    expect(levels.get("info")).toBeUndefined();
    expect(levels.get("")).toBeUndefined();
    expect(levels.get("INFO ")).toBeUndefined();
  });

  it("tells apart values that share a cache slot (same length, same last character)", () => {
    // "abcx" and "zzzx" map to one slot: each lookup must still return its own value.
    const interner = new Interner(["abcx", "zzzx"]);
    for (let i = 0; i < 3; i++) {
      expect(interner.get("abcx")).toBe("abcx");
      expect(interner.get("zzzx")).toBe("zzzx");
    }
    expect(interner.get("qqqx")).toBeUndefined();
    expect(interner.get("abcx")).toBe("abcx");
  });

  it("admits new values up to its limit, then lets them pass unremembered", () => {
    const services = new Interner<string>([], 2);
    expect(services.get("checkout")).toBe("checkout");
    expect(services.get("search")).toBe("search");
    expect(services.get("billing")).toBeUndefined();
    // Values admitted before the limit stay known.
    expect(services.get("checkout")).toBe("checkout");
    expect(services.get("search")).toBe("search");
  });
});
