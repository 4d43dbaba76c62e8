import { afterEach, describe, expect, it, vi } from "vitest";
import { rateLimited } from "../../src/http/websocket.js";

afterEach(() => vi.useRealTimers());

describe("rateLimited", () => {
  it("logs one line per interval and then says how many it left out", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const lines: string[] = [];
    const log = rateLimited((line) => lines.push(line), 60_000);
    for (let i = 0; i < 200; i++) log("fault");
    expect(lines).toEqual(["fault"]);
    vi.setSystemTime(1_000_000 + 60_000);
    log("fault");
    expect(lines).toEqual(["fault", "fault (and 199 more like it, not logged)"]);
  });
});
