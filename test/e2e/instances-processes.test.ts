import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentDocument, StartKakaoPayPaymentDocument, type StartKakaoPayPaymentMutation } from "../generated/graphql.js";
import { dropTestSchema, E2E_ON_POSTGRES, schemaFor, testSchemaUrl } from "../support/database.js";
import { eventually, graphqlRequest, HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USER } from "../support/gateway.js";
import { freePort, spawnGateway } from "../support/process.js";
import { notificationBody, postWebhook, signedItem } from "../support/webhooks.js";

const ADYEN_API_KEY = "processes-adyen-key-0123456789";

type Spawned = ReturnType<typeof spawnGateway>;

/** Resolves with the URL a process prints when it serves (`pattern` captures it), or rejects if it exits first. */
function served(run: Spawned, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const url = run.output.map((line) => pattern.exec(line)?.[1]).find(Boolean);
      if (url) resolve(url);
    };
    run.child.stdout!.on("data", check);
    run.child.stderr!.on("data", check);
    void run.exited.then(({ code }) => reject(new Error(`exited with ${code} before it served:\n${run.output.join("\n")}`)));
  });
}

// Real processes (`node dist/src/main.js`) on one PostgreSQL schema, with the simulator in a process of its own
// (docs/contract.md, Running several instances); SQLite serves one instance.
describe.skipIf(!E2E_ON_POSTGRES)("two gateway processes on one PostgreSQL database", () => {
  const dir = mkdtempSync(join(tmpdir(), "kakaopay-gw-"));
  const schema = schemaFor(dir);
  const children: Spawned[] = [];
  let databaseUrl: string;
  let simulatorUrl: string;
  let portA: number;

  const gateway = (port: number) =>
    spawnGateway(dir, {
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      SIMULATOR_URL: simulatorUrl,
      ADYEN_API_KEY,
    });

  beforeAll(async () => {
    databaseUrl = await testSchemaUrl(schema);
    portA = await freePort();
    const simulator = spawn(process.execPath, ["dist/src/simulator/main.js"], {
      env: {
        PATH: process.env.PATH,
        SIMULATOR_PORT: "0",
        ADYEN_API_KEY,
        ADYEN_HMAC_KEY: HMAC_KEY,
        ADYEN_WEBHOOK_USERNAME: WEBHOOK_USER,
        ADYEN_WEBHOOK_PASSWORD: WEBHOOK_PASSWORD,
        SIMULATOR_WEBHOOK_URL: `http://127.0.0.1:${portA}/webhooks/adyen`,
        // The test posts the webhooks itself, at the moment it chooses.
        SIMULATOR_WEBHOOK_DELAY_MS: "3600000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      simulator.on("exit", (code, signal) => resolve({ code, signal })),
    );
    const run = { child: simulator, output, exited };
    for (const stream of [simulator.stdout!, simulator.stderr!]) {
      stream.on("data", (chunk: Buffer) => output.push(...chunk.toString().split("\n").filter(Boolean)));
    }
    children.push(run);
    simulatorUrl = await served(run, /simulator listening on (http:\/\/[0-9.:]+)/);
  });

  afterAll(async () => {
    for (const run of children) run.child.kill("SIGKILL");
    await Promise.all(children.map((run) => run.exited));
    await dropTestSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it("start at the same moment on an empty database, migrate it once and both become ready; every webhook A acknowledged before a SIGKILL is applied once by B", async () => {
    const a = gateway(portA);
    const b = gateway(await freePort());
    children.push(a, b);
    const pattern = /KakaoPay gateway on (http:\/\/[^/]+)\/graphql/;
    const [urlA, urlB] = await Promise.all([served(a, pattern), served(b, pattern)]);
    for (const url of [urlA, urlB]) expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const payments: Array<StartKakaoPayPaymentMutation["startKakaoPayPayment"]> = [];
    for (let i = 0; i < 40; i++) {
      const input = { amount: { value: 1000, currency: "KRW" }, reference: `kill-a-${i}`, returnUrl: "https://shop.example/r" };
      const result = await graphqlRequest(i % 2 === 0 ? urlA : urlB, StartKakaoPayPaymentDocument, { input });
      payments.push(result.data!.startKakaoPayPayment);
    }

    // A burst of webhooks to A, five at a time as Adyen delivers them; A is killed mid-burst.
    const acked = new Set<string>();
    const queue = [...payments];
    const sender = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const body = notificationBody([
          signedItem({ eventCode: "AUTHORISATION", pspReference: p.pspReference!, merchantReference: p.reference, amount: p.amount }),
        ]);
        try {
          const answer = await postWebhook(urlA, body);
          if (answer.status === 200 && answer.text === "[accepted]") acked.add(p.id);
          if (acked.size >= 10) a.child.kill("SIGKILL");
        } catch {
          // A is gone: Adyen would deliver this one again later.
        }
      }
    };
    await Promise.all(Array.from({ length: 5 }, sender));
    a.child.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    expect(acked.size).toBeGreaterThanOrEqual(10);

    // B's sweep takes what A acknowledged and did not apply; each is applied exactly once.
    for (const id of acked) {
      const payment = await eventually(async () => {
        const { data } = await graphqlRequest(urlB, PaymentDocument, { id });
        expect(data?.payment?.status).toBe("AUTHORISED");
        return data!.payment!;
      }, 30_000);
      expect(payment.events.map((e) => [e.version, e.status])).toEqual([
        [1, "ACTION_REQUIRED"],
        [2, "AUTHORISED"],
      ]);
    }
  }, 120_000);
});
