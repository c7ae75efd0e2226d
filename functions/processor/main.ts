// The bundle's entry point (dist/processor/index.js, handler "index.handler").
export { handler } from "./handler.js";
