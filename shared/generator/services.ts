/**
 * The simulated estate: five services with their own normal behaviour, the people who use them and
 * the addresses they come from. Every IP is in the documentation ranges (RFC 5737), so generated
 * logs can be shared and replayed without pointing at anyone's real address.
 */

export interface Endpoint {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
}

export interface ServiceProfile {
  name: string;
  /** Share of the baseline traffic this service logs; the weights of all services sum to 1. */
  weight: number;
  /** Mean CPU % at the middle of the daily curve, the curve's amplitude, and per-event noise (sd). */
  cpuBase: number;
  cpuDailyAmplitude: number;
  cpuNoise: number;
  memoryBase: number;
  memoryNoise: number;
  /** Latency is log-normal: median in ms and the sd of its logarithm. */
  latencyMedianMs: number;
  latencySigma: number;
  /** Share of requests that fail with a 5xx on a normal day; kept well under the 3% budget. */
  errorRatio: number;
  endpoints: readonly Endpoint[];
  /** Only the auth service logs sign-ins. */
  authShare: number;
  /** Traffic is large enough that a moderate error ratio cannot cross the rule threshold by chance. */
  highVolume: boolean;
}

export const SERVICES: readonly ServiceProfile[] = [
  {
    name: "api-gateway",
    weight: 0.3,
    cpuBase: 40,
    cpuDailyAmplitude: 10,
    cpuNoise: 4,
    memoryBase: 52,
    memoryNoise: 1.2,
    latencyMedianMs: 45,
    latencySigma: 0.35,
    errorRatio: 0.008,
    endpoints: [
      { method: "GET", path: "/v1/products" },
      { method: "GET", path: "/v1/orders" },
      { method: "POST", path: "/v1/orders" },
      { method: "GET", path: "/v1/cart" },
    ],
    authShare: 0,
    highVolume: true,
  },
  {
    name: "auth-service",
    weight: 0.2,
    cpuBase: 30,
    cpuDailyAmplitude: 8,
    cpuNoise: 3.5,
    memoryBase: 45,
    memoryNoise: 1,
    latencyMedianMs: 60,
    latencySigma: 0.3,
    errorRatio: 0.005,
    endpoints: [
      { method: "POST", path: "/v1/token/refresh" },
      { method: "GET", path: "/v1/session" },
    ],
    authShare: 0.45,
    highVolume: false,
  },
  {
    name: "payment-service",
    weight: 0.15,
    cpuBase: 35,
    cpuDailyAmplitude: 10,
    cpuNoise: 4,
    memoryBase: 58,
    memoryNoise: 1.2,
    latencyMedianMs: 120,
    latencySigma: 0.4,
    errorRatio: 0.012,
    endpoints: [
      { method: "POST", path: "/v1/payments" },
      { method: "GET", path: "/v1/payments/status" },
      { method: "POST", path: "/v1/refunds" },
    ],
    authShare: 0,
    highVolume: false,
  },
  {
    name: "inventory-service",
    weight: 0.2,
    cpuBase: 38,
    cpuDailyAmplitude: 9,
    cpuNoise: 4,
    memoryBase: 48,
    memoryNoise: 1,
    latencyMedianMs: 35,
    latencySigma: 0.35,
    errorRatio: 0.006,
    endpoints: [
      { method: "GET", path: "/v1/stock" },
      { method: "PUT", path: "/v1/stock/reserve" },
      { method: "DELETE", path: "/v1/stock/reserve" },
    ],
    authShare: 0,
    highVolume: true,
  },
  {
    name: "notification-service",
    weight: 0.15,
    cpuBase: 25,
    cpuDailyAmplitude: 7,
    cpuNoise: 3,
    memoryBase: 40,
    memoryNoise: 1,
    latencyMedianMs: 80,
    latencySigma: 0.45,
    errorRatio: 0.01,
    endpoints: [
      { method: "POST", path: "/v1/notify/email" },
      { method: "POST", path: "/v1/notify/sms" },
    ],
    authShare: 0,
    highVolume: false,
  },
];

export const SERVICE_NAMES: readonly string[] = SERVICES.map((s) => s.name);

/** Regular users, each signing in from one or two usual addresses. */
export const USERS: readonly { name: string; ips: readonly string[] }[] = [
  { name: "alice", ips: ["192.0.2.10", "192.0.2.11"] },
  { name: "bob", ips: ["192.0.2.20"] },
  { name: "carol", ips: ["192.0.2.30", "198.51.100.7"] },
  { name: "dave", ips: ["192.0.2.40"] },
  { name: "erin", ips: ["198.51.100.12"] },
  { name: "frank", ips: ["192.0.2.50", "198.51.100.13"] },
  { name: "grace", ips: ["192.0.2.60"] },
  { name: "heidi", ips: ["198.51.100.20"] },
];

/** Account names a password-guessing bot tries; none of them is a regular user above. */
export const GUESSED_ACCOUNTS: readonly string[] = [
  "admin",
  "root",
  "test",
  "guest",
  "oracle",
  "support",
  "ubuntu",
];

/** Addresses a single brute-force attacker may come from (203.0.113.0/24, none used by regular users). */
export function bruteForceIp(index: number): string {
  return `203.0.113.${1 + (index % 254)}`;
}

/** The botnet behind credential stuffing: many addresses in 198.51.100.100..199 (none used by users). */
export const STUFFING_IPS: readonly string[] = Array.from({ length: 100 }, (_, i) => `198.51.100.${100 + i}`);
