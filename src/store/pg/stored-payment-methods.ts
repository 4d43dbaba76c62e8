import { and, asc, eq, isNull } from "drizzle-orm";
import type { ApiKeyName, StoredPaymentMethodId } from "../../payments/ids.js";
import { NotificationOutcome } from "../../payments/notification.js";
import type { StoredPaymentMethodStore } from "../../payments/ports.js";
import type { StoredPaymentMethod } from "../../payments/stored-payment-method.js";
import { toMethod } from "../rows.js";
import type { PgDatabase } from "./database.js";
import { notificationInbox, storedPaymentMethods } from "./schema.js";

export class PgStoredPaymentMethodStore implements StoredPaymentMethodStore {
  constructor(private readonly db: PgDatabase) {}

  async recordToken(
    token: Pick<StoredPaymentMethod, "id" | "owner" | "shopperReference" | "type" | "originalPaymentId">,
    settles?: { notificationId: number },
  ): Promise<{ method: StoredPaymentMethod; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const now = new Date();
      const [inserted] = await tx
        .insert(storedPaymentMethods)
        .values({ ...token, active: true, createdAt: now })
        .onConflictDoNothing()
        .returning();
      if (settles) {
        await tx
          .update(notificationInbox)
          .set({ appliedAt: now, outcome: inserted ? NotificationOutcome.APPLIED : NotificationOutcome.NO_CHANGE })
          .where(and(eq(notificationInbox.id, settles.notificationId), isNull(notificationInbox.appliedAt)));
      }
      const row = inserted ?? (await tx.select().from(storedPaymentMethods).where(eq(storedPaymentMethods.id, token.id)))[0]!;
      return { method: toMethod(row), created: inserted !== undefined };
    });
  }

  async getToken(id: StoredPaymentMethodId): Promise<StoredPaymentMethod | null> {
    const [row] = await this.db.select().from(storedPaymentMethods).where(eq(storedPaymentMethods.id, id));
    return row ? toMethod(row) : null;
  }

  async listTokens(owner: ApiKeyName, shopperReference: string): Promise<StoredPaymentMethod[]> {
    const rows = await this.db
      .select()
      .from(storedPaymentMethods)
      .where(and(eq(storedPaymentMethods.owner, owner), eq(storedPaymentMethods.shopperReference, shopperReference)))
      .orderBy(asc(storedPaymentMethods.createdAt), asc(storedPaymentMethods.id));
    return rows.map(toMethod);
  }

  async disableToken(id: StoredPaymentMethodId): Promise<StoredPaymentMethod> {
    const [row] = await this.db
      .update(storedPaymentMethods)
      .set({ active: false, disabledAt: new Date() })
      .where(eq(storedPaymentMethods.id, id))
      .returning();
    if (!row) throw new Error(`stored payment method ${id} vanished`);
    return toMethod(row);
  }
}
