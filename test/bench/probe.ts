/**
 * Preloaded by the bench into the gateway (`node --expose-gc --import probe.js dist/src/main.js`) and the
 * simulator, so that their code needs no debug route: over the IPC channel the runner opened, it answers the
 * process's memory after a full GC, and starts and stops the V8 CPU profiler around one scenario's measured run.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { setTimeout as sleep } from "node:timers/promises";

export type ProbeRequest = { type: "memory" } | { type: "profile-start" } | { type: "profile-stop"; path: string };

export type ProbeMemory = NodeJS.MemoryUsage;

const collectGarbage = (globalThis as { gc?: () => void }).gc;
let session: Session | null = null;

async function handle(request: ProbeRequest): Promise<unknown> {
  switch (request.type) {
    case "memory":
      if (!collectGarbage) throw new Error("start the gateway with --expose-gc");
      // Twice, a moment apart: finalizers and V8's memory reducer free more after the first pass.
      collectGarbage();
      await sleep(1000);
      collectGarbage();
      return process.memoryUsage();
    case "profile-start":
      session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
      return { started: true };
    case "profile-stop": {
      if (!session) throw new Error("no profile started");
      const { profile } = await session.post("Profiler.stop");
      session.disconnect();
      session = null;
      writeFileSync(request.path, JSON.stringify(profile));
      return { path: request.path };
    }
  }
}

if (process.send) {
  process.on("message", (request: ProbeRequest) => {
    handle(request).then(
      (reply) => process.send!(reply as object),
      (error: unknown) => process.send!({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
  // The runner went away (e.g. Ctrl-C): stop the process the way an orchestrator would.
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
}
