/** Prints the documented example email (docs/alerting.md): `npx tsx tests/unit/sinks/render-email-example.ts`. */
import { emailBody } from "../../../shared/sinks/email.js";
import { EXAMPLE_CONTEXT, exampleNotification } from "./email-example.js";

process.stdout.write(`${emailBody(exampleNotification(), EXAMPLE_CONTEXT)}\n`);
