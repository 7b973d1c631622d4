// Command-line options on node:util parseArgs (strict: an unknown option or a missing value is an
// error), with its errors reworded into the one line the commands print before their usage.
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The options' values of `argv`; no positional arguments. Throws an Error whose message names
 * the offending option ("unknown option \"--password\"", "--email needs a value"). */
export function parseOptions<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new Error(reword(err as Error & { code?: string }));
  }
}

function reword(err: Error & { code?: string }): string {
  const option = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${JSON.stringify(option ?? "?")}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /does not take an argument/.test(err.message) ? `${option ?? "an option"} takes no value` : `${option ?? "an option"} needs a value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(/'([^']*)'/.exec(err.message)?.[1] ?? "?")}`;
    default:
      return err.message;
  }
}
