// A Stryker ignore-plugin for `npm run mutate`: mutants that only change the wording of a
// message are not counted. Error codes, problem codes and exit codes are what scripts match
// and what the safety tests assert; a message's text is for people. Ignored: the string and
// template literals given as message arguments to the error constructors, `problem()`, the
// detectors' message helpers and warnings. The code arguments (first of `problem` and
// `DiskpipeError`, `warnSpool`) stay mutated.
import { PluginKind, declareValuePlugin } from "@stryker-mutator/api/plugin";

/** Callee name → index of its first message argument (arguments before it are codes). */
const MESSAGE_FROM = {
  problem: 1,
  DiskpipeError: 1,
  warnSpool: 1,
  UsageError: 0,
  ImageRejectedError: 0,
  UploadError: 1,
  Error: 0,
  RangeError: 0,
  corrupt: 0,
  bad: 0,
  short: 0,
  heavy: 0,
  bounds: 0,
  disagree: 0,
  invalid: 0,
  warn: 0,
  emitWarning: 0,
};

function calleeName(callee) {
  if (callee.type === "Identifier") return callee.name;
  if (callee.type === "MemberExpression" && callee.property.type === "Identifier") return callee.property.name;
  return undefined;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "messages", {
    shouldIgnore(path) {
      if (!path.isStringLiteral() && !path.isTemplateLiteral()) return undefined;
      if (path.listKey !== "arguments" || !(path.parentPath.isCallExpression() || path.parentPath.isNewExpression()))
        return undefined;
      const from = MESSAGE_FROM[calleeName(path.parentPath.node.callee)];
      if (from === undefined || path.key < from) return undefined;
      return "the wording of a message: codes are what is tested";
    },
  }),
];
