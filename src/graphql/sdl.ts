import { lexicographicSortSchema, printSchema } from "graphql";
import { InProcessStatusFeed } from "../pubsub/in-process-feed.js";
import { buildGatewaySchema } from "./schema.js";

/** The SDL committed as schema/schema.graphql; a test fails when the file and the code disagree. */
export async function gatewaySdl(): Promise<string> {
  return `${printSchema(lexicographicSortSchema(await buildGatewaySchema(new InProcessStatusFeed())))}\n`;
}
