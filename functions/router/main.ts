// The bundle's entry point (dist/router/index.js, handler "index.handler").
export { handler } from "./handler.js";
