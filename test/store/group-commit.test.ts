import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/store/sqlite/database.js";
import { GroupCommit } from "../../src/store/sqlite/group-commit.js";
import { notificationInbox } from "../../src/store/sqlite/schema.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "group-commit-"));
  dirs.push(dir);
  const path = join(dir, "g.db");
  const db = openSqlite(path);
  // Counts the transactions better-sqlite3 opens (BEGIN ... COMMIT, one fsync each); a transaction function called
  // inside another is a savepoint and is not counted.
  const client = db.$client;
  const transaction = client.transaction.bind(client);
  const counter = { transactions: 0 };
  client.transaction = ((fn: (...args: never[]) => unknown) => {
    const tx = transaction(fn);
    return (...args: never[]) => {
      if (!client.inTransaction) counter.transactions++;
      return tx(...args);
    };
  }) as typeof client.transaction;
  return { db, writes: new GroupCommit(db), other: new Database(path, { readonly: true }), counter };
}

const row = (psp: string) => ({
  pspReference: psp,
  eventCode: "AUTHORISATION",
  success: true,
  originalReference: "",
  merchantReference: "r",
  merchantAccountCode: "m",
  raw: "{}",
  receivedAt: new Date(),
});

describe("GroupCommit", () => {
  it("answers each write only once it is visible to another connection", async () => {
    const { db, writes, other } = setup();
    await writes.write(() => db.insert(notificationInbox).values(row("A")).run());
    expect(other.prepare("select count(*) as n from notification_inbox").get()).toEqual({ n: 1 });
  });

  it("commits the writes of one turn in one transaction, and those of a later turn in another", async () => {
    const { db, writes, other, counter } = setup();
    await Promise.all(["A", "B", "C"].map((psp) => writes.write(() => db.insert(notificationInbox).values(row(psp)).run())));
    expect(counter.transactions).toBe(1);
    await writes.write(() => db.insert(notificationInbox).values(row("D")).run());
    expect(counter.transactions).toBe(2);
    expect(other.prepare("select count(*) as n from notification_inbox").get()).toEqual({ n: 4 });
  });

  it("rolls back a failing write of a turn alone, in the transaction of the others", async () => {
    const { db, writes, other, counter } = setup();
    const results = await Promise.allSettled([
      writes.write(() => db.insert(notificationInbox).values(row("A")).run()),
      writes.write(() => {
        db.insert(notificationInbox).values(row("B")).run();
        throw new Error("this write fails after its insert");
      }),
      writes.write(() => db.insert(notificationInbox).values(row("C")).run()),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(counter.transactions).toBe(1);
    const stored = other.prepare("select psp_reference from notification_inbox order by id").all();
    expect(stored).toEqual([{ psp_reference: "A" }, { psp_reference: "C" }]);
  });

  it("commits what is pending when closed, and refuses writes after", async () => {
    const { db, writes, other } = setup();
    const pending = writes.write(() => db.insert(notificationInbox).values(row("A")).run());
    writes.close();
    await pending;
    expect(other.prepare("select count(*) as n from notification_inbox").get()).toEqual({ n: 1 });
    await expect(writes.write(() => 1)).rejects.toThrow(/closed/);
  });
});
