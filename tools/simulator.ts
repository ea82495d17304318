/**
 * A spysocket simulator, like the 2012 project's HRT-Mock: realistic lines of all three kinds,
 * double-spaced, from a few hundred vehicles moving around Hampton Roads.
 *
 * @example
 * ```ts
 * import { createSimulator } from "./simulator.ts";
 * const sim = createSimulator({ seed: 1 });
 * const line = sim.nextLine(new Date()); // "07:04:42 02/15  V.1.2233  H.0.0  MT_LOCATION ..."
 * ```
 * @module
 */

/** Simulator settings. */
export interface SimulatorOptions {
  /** How many vehicles report; default 300. */
  vehicles?: number;
  /** Seed of the pseudo-random sequence, for repeatable output; default 1. */
  seed?: number;
  /** One space between fields, as the 2012 simulator wrote; default two, as real logs. */
  singleSpace?: boolean;
}

interface Vehicle {
  id: string;
  lat: number; // degrees * 1e7
  lon: number;
  route: number;
  block: number;
  odometer: number;
  adherence: number;
}

/** A source of spysocket lines. */
export interface Simulator {
  /** One line, without its newline, stamped with `now` (local time). */
  nextLine(now: Date): string;
}

/** A small fast PRNG (mulberry32): repeatable for a seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const two = (n: number) => (n < 10 ? "0" : "") + n;

function clock(date: Date): string {
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** Creates a simulator. See the module example. */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const rand = random(options.seed ?? 1);
  const sep = options.singleSpace ? " " : "  ";
  const locationGap = options.singleSpace ? " " : "    ";
  const crossingGap = options.singleSpace ? " " : "   ";
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const fleet: Vehicle[] = [];
  const ids = new Set<number>();
  for (let i = 0; fleet.length < (options.vehicles ?? 300); i++) {
    const n = int(1000, 4999);
    if (ids.has(n)) continue;
    ids.add(n);
    fleet.push({
      id: `V.1.${n}`,
      // Norfolk, Hampton, Newport News, Virginia Beach: 36.70..37.20 N, 76.60..75.95 W
      lat: int(367000000, 372000000),
      lon: -int(759500000, 766000000),
      route: int(1, 120),
      block: int(100, 999),
      odometer: int(0, 5000),
      adherence: int(-5, 5),
    });
  }
  return {
    nextLine(now: Date): string {
      const v = fleet[int(0, fleet.length - 1)];
      v.lat += int(-2000, 2000);
      v.lon += int(-2000, 2000);
      v.odometer += int(0, 30);
      if (rand() < 0.1) v.adherence += int(-1, 1);
      const flag = rand() < 0.98 ? "[Valid]" : "[Invalid]";
      const head = `${clock(now)} ${two(now.getMonth() + 1)}/${
        two(now.getDate())
      }${sep}${v.id}${sep}H.0.0${sep}`;
      const location = `Lat/Lon:${v.lat}/${v.lon} ${flag}${sep}Adher:${v.adherence} [Valid]${sep}` +
        `Odom:${v.odometer} ${rand() < 0.9 ? "[Valid]" : "[Invalid]"}${sep}DGPS:${
          rand() < 0.95 ? "On" : "Off"
        }` +
        (rand() < 0.97 ? `${sep}FOM:${int(1, 9)}` : "");
      const kind = rand();
      if (kind < 0.8) return `${head}MT_LOCATION${locationGap}${location}`;
      const crossed = new Date(now.getTime() - int(0, 30) * 1000);
      const how = kind < 0.9 ? "Arrival" : `Dwell:${int(5, 120)}`;
      return `${head}MT_TIMEPOINTCROSSING${crossingGap}Time:${
        clock(crossed)
      }${sep}${how}${sep}Rte:${v.route}${sep}` +
        `Dir:${int(1, 2)}${sep}TP:${int(100, 999)}${sep}Stop:${
          int(1, 200)
        }${sep}Svc:1${sep}Blk:${v.block}${sep}` +
        location;
    },
  };
}

/** `count` lines as one `\n`-ended text, stamped with `now`. */
export function simulateText(sim: Simulator, count: number, now = new Date()): string {
  const lines = new Array<string>(count);
  for (let i = 0; i < count; i++) lines[i] = sim.nextLine(now);
  return count > 0 ? lines.join("\n") + "\n" : "";
}
