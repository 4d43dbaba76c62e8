import { toMethod } from "../rows.js";
import { and, asc, eq, isNull } from "drizzle-orm";
import type { ApiKeyName, StoredPaymentMethodId } from "../../payments/ids.js";
import { NotificationOutcome } from "../../payments/notification.js";
import type { StoredPaymentMethodStore } from "../../payments/ports.js";
import type { StoredPaymentMethod } from "../../payments/stored-payment-method.js";
import type { SqliteDatabase } from "./database.js";
import type { GroupCommit } from "./group-commit.js";
import { notificationInbox, storedPaymentMethods } from "./schema.js";

export class SqliteStoredPaymentMethodStore implements StoredPaymentMethodStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly writes: GroupCommit,
  ) {}

  async recordToken(
    token: Pick<StoredPaymentMethod, "id" | "owner" | "shopperReference" | "type" | "originalPaymentId">,
    settles?: { notificationId: number },
  ): Promise<{ method: StoredPaymentMethod; created: boolean }> {
    return this.writes.write(() => {
      const inserted = this.db
        .insert(storedPaymentMethods)
        .values({ ...token, active: true, createdAt: new Date() })
        .onConflictDoNothing()
        .returning()
        .get();
      if (settles) {
        this.db
          .update(notificationInbox)
          .set({ appliedAt: new Date(), outcome: inserted ? NotificationOutcome.APPLIED : NotificationOutcome.NO_CHANGE })
          .where(and(eq(notificationInbox.id, settles.notificationId), isNull(notificationInbox.appliedAt)))
          .run();
      }
      const row = inserted ?? this.db.select().from(storedPaymentMethods).where(eq(storedPaymentMethods.id, token.id)).get()!;
      return { method: toMethod(row), created: inserted !== undefined };
    });
  }

  async getToken(id: StoredPaymentMethodId): Promise<StoredPaymentMethod | null> {
    const row = this.db.select().from(storedPaymentMethods).where(eq(storedPaymentMethods.id, id)).get();
    return row ? toMethod(row) : null;
  }

  async listTokens(owner: ApiKeyName, shopperReference: string): Promise<StoredPaymentMethod[]> {
    return this.db
      .select()
      .from(storedPaymentMethods)
      .where(and(eq(storedPaymentMethods.owner, owner), eq(storedPaymentMethods.shopperReference, shopperReference)))
      .orderBy(asc(storedPaymentMethods.createdAt), asc(storedPaymentMethods.id))
      .all()
      .map(toMethod);
  }

  async disableToken(id: StoredPaymentMethodId): Promise<StoredPaymentMethod> {
    const row = await this.writes.write(() =>
      this.db
        .update(storedPaymentMethods)
        .set({ active: false, disabledAt: new Date() })
        .where(eq(storedPaymentMethods.id, id))
        .returning()
        .get(),
    );
    if (!row) throw new Error(`stored payment method ${id} vanished`);
    return toMethod(row);
  }
}
