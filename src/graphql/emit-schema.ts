// `npm run schema:emit`: writes schema/schema.graphql from the code-first schema.
import { mkdirSync, writeFileSync } from "node:fs";
import { gatewaySdl } from "./sdl.js";

mkdirSync("schema", { recursive: true });
writeFileSync("schema/schema.graphql", await gatewaySdl());
console.log("wrote schema/schema.graphql");
