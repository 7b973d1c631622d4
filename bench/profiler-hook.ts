// Preloaded into the bankd server (`node --require dist/bench/profiler-hook.js`) when the bench
// runs with --profile. It takes V8 CPU profiles -- the same profiler and .cpuprofile format as
// `node --cpu-prof` -- but only for the measured window of a workload, so that start-up and
// seeding do not dilute the profile. Commands arrive over the IPC channel from the bench.
import * as fs from "node:fs";
import { Session } from "node:inspector";

type Command = { profile: "start" } | { profile: "stop"; file: string };

const session = new Session();
session.connect();

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
}

async function handle(command: Command): Promise<void> {
  if (command.profile === "start") {
    await post("Profiler.enable");
    // 500 µs sampling: fine enough for sub-millisecond RPC paths, cheap enough not to skew them.
    await post("Profiler.setSamplingInterval", { interval: 500 });
    await post("Profiler.start");
    return;
  }
  const { profile } = await post<{ profile: object }>("Profiler.stop");
  fs.writeFileSync(command.file, JSON.stringify(profile));
}

if (process.send) {
  process.on("message", (command: Command) => {
    handle(command).then(
      () => process.send?.({ ok: true }),
      (err: unknown) => process.send?.({ ok: false, error: String(err) }),
    );
  });
  // The channel must not keep the server alive once it has drained.
  process.channel?.unref();
}
