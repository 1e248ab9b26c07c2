/** One problem with an `@example` block: where it is, whose example, and what is wrong. */
export interface ExampleProblem {
  file: string;
  line: number;
  name: string;
  message: string;
}

/** Extracts and type-checks every `@example` block under src/ (see check-examples.mjs). */
export function checkExamples(options?: { keep?: boolean }): {
  problems: ExampleProblem[];
  examples: number;
  ms: number;
  dir?: string;
};

/** `src/file.ts:LINE (@example of NAME): message` */
export function formatProblem(problem: ExampleProblem): string;
