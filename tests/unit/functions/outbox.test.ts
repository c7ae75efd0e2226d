import { describe, expect, it } from "vitest";
import { Outbox } from "../../../functions/processor/outbox.js";
import { notification } from "./fixtures.js";

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const n = (id: string) => notification({ id });

describe("Outbox", () => {
  it("leases what nobody else holds, oldest first, and leaves a live lease of another owner alone", () => {
    const outbox = Outbox.empty();
    outbox.add([n("a"), n("b")], NOW);
    expect(outbox.lease("first", NOW, NOW + 60_000).map((e) => e.notification.id)).toEqual(["a", "b"]);
    outbox.add([n("c")], NOW);
    // A concurrent invocation on the same saved version: only the new entry is free for it.
    const other = Outbox.restore(outbox.snapshot(), NOW).outbox;
    expect(other.lease("second", NOW + 1_000, NOW + 61_000).map((e) => e.notification.id)).toEqual(["c"]);
    // Once the first invocation's deadline has passed (it died), its entries are free again.
    expect(other.lease("third", NOW + 60_000, NOW + 120_000).map((e) => e.notification.id)).toEqual([
      "a",
      "b",
    ]);
  });

  it("settles by id on any later version: removes what went out, counts failures, releases its own leases", () => {
    const mine = Outbox.empty();
    mine.add([n("a"), n("b")], NOW);
    mine.lease("first", NOW, NOW + 60_000);
    // Another invocation saved in between, adding its own entry under its own lease.
    const newer = Outbox.restore(mine.snapshot(), NOW).outbox;
    newer.add([n("c")], NOW);
    newer.lease("second", NOW, NOW + 60_000);
    newer.settle("first", new Set(["a"]), new Set(["b"]));
    const entries = newer.snapshot();
    expect(entries.map((e) => e.notification.id)).toEqual(["b", "c"]);
    expect(entries[0]).toMatchObject({ attempts: 1 });
    expect(entries[0]?.lease).toBeUndefined();
    expect(entries[1]?.lease?.owner).toBe("second");
  });

  it("never spools one notification twice, and names the oldest beyond its bound", () => {
    const outbox = Outbox.empty();
    outbox.add([n("a"), n("b"), n("a")], NOW);
    outbox.add([n("b"), n("c"), n("d")], NOW);
    expect(outbox.ids()).toEqual(["a", "b", "c", "d"]);
    expect(outbox.overflow(3).map((e) => e.notification.id)).toEqual(["a"]);
    expect(outbox.trim(2).map((e) => e.notification.id)).toEqual(["a", "b"]);
    expect(outbox.ids()).toEqual(["c", "d"]);
  });

  it("reads the spool of the previous format and leaves out what it cannot read, counted", () => {
    const { outbox, unreadable } = Outbox.restore(
      [n("old"), { notification: n("new"), addedAtMs: NOW, attempts: 2 }, { bogus: true }, null, 7],
      NOW,
    );
    expect(outbox.ids()).toEqual(["old", "new"]);
    expect(unreadable).toBe(3);
    expect(Outbox.restore("not a list", NOW)).toMatchObject({ unreadable: 1 });
    expect(Outbox.restore(undefined, NOW)).toMatchObject({ unreadable: 0 });
  });
});
