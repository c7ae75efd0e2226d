// The bundle's entry point (dist/remediation/index.js, handler "index.handler").
export { handler } from "./handler.js";
