import { Command, CommanderError, InvalidArgumentError } from "commander";
import type { SelectCommandOptions, SelectCommandResult } from "./commands/select.js";
import { CliError, exitCodeFor } from "./errors.js";
import { checkCommandPaths } from "./preflight.js";

// This module loads no library at start-up (commander, node: and its own light modules only):
// every command imports its implementation when it runs, so `sage --help` stays fast.

/** `--selector` against `@sage/curriculum`'s list (a light import: no trainer, no GPU). */
async function checkSelectorFlag(name: string): Promise<void> {
  const { SELECTOR_NAMES } = await import("@sage/curriculum");
  if (!(SELECTOR_NAMES as readonly string[]).includes(name)) {
    throw new CliError(
      "USAGE_INVALID",
      `--selector: expected one of ${SELECTOR_NAMES.join(", ")}; received ${JSON.stringify(name)}`,
    );
  }
}

/** `sage select`, loaded on first use. */
async function selectCommand(opts: SelectCommandOptions): Promise<SelectCommandResult> {
  const { selectCommand: run } = await import("./commands/select.js");
  return run(opts);
}

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

function intOption(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(
        `${name} must be an integer ≥ ${min}; received ${JSON.stringify(value)}`,
      );
    }
    return n;
  };
}

function floatOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) {
      throw new InvalidArgumentError(`${name} must be a finite number; received ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** What `sage train` and `sage sft` print when their loop ends; `detail` goes after the step. */
function loopSummary(
  result: {
    readonly status: string;
    readonly step: number;
    readonly resumedFrom: number | undefined;
    readonly metricsPath: string;
    readonly checkpoint: string | undefined;
  },
  detail = "",
): string {
  return (
    `${result.status} at step ${result.step}${result.resumedFrom !== undefined ? ` (resumed from ${result.resumedFrom})` : ""}${detail}\n` +
    `metrics: ${result.metricsPath}\ncheckpoint: ${result.checkpoint ?? "none"}\n`
  );
}

/** Build the `sage` command tree (commander), writing through `io`. */
export function createProgram(io: CliIo = processIo): Command {
  const program = new Command("sage")
    .description("SAGE: stability-aware preference-pair selection for DPO, on any GPU through WebGPU")
    .version("0.0.0", "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  program
    .command("select")
    .description(
      "Select training pairs with SAGE (or a baseline) from per-pair log-probs computed by any trainer (TRL, …): --plan lists the pairs to score for the next refresh, then select writes the batches ({step, ids} lines, and TRL rows with --rows); --serve keeps one session over JSON lines on stdin/stdout",
    )
    .option(
      "--pairs <file>",
      "TRL preference JSONL: prompt, chosen, rejected, optional id (default line:<n>), level, difficulty, pass_rate, ref_chosen_logps/ref_rejected_logps",
    )
    .option(
      "--stats <file>",
      "instead of --pairs: JSONL of every pair's statistics: id, policy_/reference_chosen/rejected_logp, chosen_/rejected_tokens, perturbed_margins, pass_rate, level",
    )
    .option(
      "--plan",
      "write the pairs to score for the next refresh (ids, pair_key, text, perturbation) to --out",
    )
    .option("--scores <file>", "statistics of the planned pairs (the --stats fields; id required)")
    .option("--out <file>", "where to write the selection JSONL {step, ids} (with --plan: the plan)")
    .option("--rows <file>", "also write the selected pairs as TRL rows {prompt, chosen, rejected, id, step}")
    .option(
      "--serve",
      "serve JSON-line requests on stdin ({op: plan | scores | next | state}), one reply line each",
    )
    .option(
      "--state <file>",
      "selector state: continued from when the file exists, then overwritten (atomically); the same --config may be given again",
    )
    .option("--config <file>", "JSON or YAML config: {selector, steps, curriculum: {…, stability: {…}}}")
    .option(
      "--selector <name>",
      "sage, uniform, random, curriculum-only, score-only, hard-mining, small-margin or selective",
    )
    .option(
      "--steps <n>",
      "steps (batches) to select, answering refreshes from the given statistics (default: up to the next refresh)",
      intOption("--steps", 1),
    )
    .option(
      "--batch-size <n>",
      "pairs per step (overrides curriculum.batchSize)",
      intOption("--batch-size", 1),
    )
    .option("--seed <n>", "seed (overrides curriculum.seed)", intOption("--seed", 0))
    .option("--events <file>", "also write the selector's refresh/batch events as JSONL")
    .exitOverride()
    .action(async (opts) => {
      if (opts.serve) {
        const { serveSelect } = await import("./commands/select.js");
        await serveSelect(opts, { input: process.stdin, write: io.stdout });
        return;
      }
      const r = await selectCommand(opts);
      const next = r.next
        ? `next: refresh ${r.next.refresh} at step ${r.next.step} needs ${r.next.ids.length} pairs scored (${r.next.kind}; sage select --plan lists them)`
        : "next: no scoring due before the next batch";
      if (opts.plan) {
        io.stdout(
          r.plan
            ? `plan: refresh ${r.plan.refresh} at step ${r.plan.step}: score ${r.plan.ids.length} pairs (${r.plan.kind}) → ${opts.out}\n`
            : `plan: nothing to score before step ${r.startStep}; run sage select for the batches (${opts.out} is empty)\n`,
        );
        return;
      }
      io.stdout(
        `selected ${r.steps} batches${r.steps > 0 ? ` (steps ${r.startStep}–${r.startStep + r.steps - 1})` : ""}${r.continued ? " continuing from the state file" : ""}; ` +
          `${r.refreshes} refreshes scored ${r.scoredPairs} pairs → ${opts.out}\n${next}\n`,
      );
    });

  program
    .command("eval")
    .description(
      "Grade a JSONL of model responses (id, response, reference|answer, [level, subject, benchmark, sample]) with @sage/eval-math",
    )
    .requiredOption("--responses <file>", "JSONL of responses to grade")
    .option(
      "--out <file>",
      "write graded records (JSONL, one line per response as it is graded) here and the summary to <file>.summary.json",
    )
    .option(
      "--config <file>",
      "JSON or YAML config: {grade: {relTol, absTol, percentLeniency, unorderedLists, equationScaling, symbolic, maxSteps}}",
    )
    .option("--json", "print the summary as JSON")
    .option("--resume", "continue an interrupted run: keep the records already in --out, grade only the rest")
    .exitOverride()
    .action(async (opts) => {
      const { evalCommand } = await import("./commands/eval.js");
      const { summary, resumed } = await evalCommand(opts);
      if (opts.resume) io.stderr(`resumed: ${resumed} records were already graded in ${opts.out}\n`);
      if (opts.json) {
        io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      io.stdout(
        `pass@1 ${pct(summary.pass1)} over ${summary.problems} problems (${summary.samples} samples)\n`,
      );
      for (const [k, v] of Object.entries(summary.passAtK)) if (k !== "1") io.stdout(`pass@${k} ${pct(v)}\n`);
      for (const [level, g] of Object.entries(summary.byLevel)) {
        io.stdout(`  level ${level}: pass@1 ${pct(g.pass1)} (${g.problems} problems)\n`);
      }
    });

  program
    .command("train")
    .description(
      "DPO with SAGE (or a baseline selector) on the WebGPU policy: TRL-format pairs, an HF model folder, checkpoints and resume",
    )
    .requiredOption(
      "--pairs <file>",
      "preference JSONL (prompt/chosen/rejected strings or message lists; optional difficulty, level, id)",
    )
    .requiredOption(
      "--model <dir>",
      "HF model folder: config.json, *.safetensors, tokenizer.json (the start policy and the reference)",
    )
    .requiredOption("--run-dir <dir>", "metrics.jsonl and checkpoints/ go here")
    .option(
      "--config <file>",
      "JSON or YAML config: {selector, chatTemplate, train: {…}, curriculum: {…}, optimizer: {…}}",
    )
    .option(
      "--selector <name>",
      "sage (default), uniform, random, curriculum-only, score-only, hard-mining, small-margin, selective",
    )
    .option("--steps <n>", "optimiser steps in total (overrides train.steps)", intOption("--steps", 1))
    .option("--seed <n>", "seed (overrides train.seed)", intOption("--seed", 0))
    .option("--resume", "continue from the newest checkpoint in --run-dir")
    .option("--ref-cache <dir>", "reference log-prob cache shared across runs (default <run-dir>/ref-cache)")
    .option("--skip-invalid", "skip invalid pair lines (each is reported) instead of stopping at the first")
    .option("--save-model <dir>", "after a completed run, save the trained model as an HF folder")
    .option(
      "--eval-problems <file>",
      "held-out problems (JSONL: id, prompt, answer, level) for greedy pass@1 by level",
    )
    .option(
      "--eval-every <n>",
      "evaluate every n steps (overrides train.evalEvery)",
      intOption("--eval-every", 1),
    )
    .option(
      "--eval-samples <k>",
      "also sampled pass@1: the mean of k answers per problem at --eval-temperature (eval/sampled/… metrics; overrides eval.samples)",
      intOption("--eval-samples", 1),
    )
    .option(
      "--eval-temperature <t>",
      "temperature of the sampled pass@1 (default 1; overrides eval.temperature)",
      floatOption("--eval-temperature"),
    )
    .option(
      "--save-eval-models",
      "save the model as an HF folder at every evaluation (<run-dir>/models/step-<n>)",
    )
    .option("--no-progress", "no progress bar")
    .exitOverride()
    .action(async (opts) => {
      // A bad --selector is refused before the trainer stack (seconds of imports) is loaded.
      if (opts.selector !== undefined) await checkSelectorFlag(opts.selector);
      // loaded on demand: `select` and `eval` never load WebGPU
      const { trainCommand } = await import("./commands/train.js");
      const r = await trainCommand(opts, (line) => io.stderr(`${line}\n`));
      const { result } = r;
      io.stdout(
        loopSummary(
          result,
          `; reference log-probs: ${result.refSource}; non-finite steps: ${result.nonFiniteSteps}`,
        ),
      );
      if (r.exitCode !== 0) throw new ExitCode(r.exitCode);
    });

  program
    .command("pairs")
    .description(
      "Build on-policy preference pairs: sample n answers per problem on WebGPU, grade them with @sage/eval-math, pair correct with incorrect (difficulty = 1 − pass rate)",
    )
    .requiredOption(
      "--problems <file>",
      "JSONL of problems: id, prompt (or question/problem), answer, [level]",
    )
    .requiredOption(
      "--model <dir>",
      "HF model folder (config.json, *.safetensors, tokenizer.json) to sample from",
    )
    .requiredOption("--out <file>", "pairs JSONL to write (TRL format); pass rates go to <file>.stats.json")
    .option(
      "--config <file>",
      "JSON or YAML config: {n, maxNewTokens, temperature, topK, topP, seed, maxPairsPerPrompt, batchSize, chatTemplate}",
    )
    .option(
      "--n <n>",
      "samples per problem (default 8); 1: one greedy answer per problem (pass rates only, no pairs)",
      intOption("--n", 1),
    )
    .option(
      "--grader <name>",
      "auto (default: work-checked for chain/synthetic word problems, answer-only otherwise), work or answer",
    )
    .option(
      "--max-new-tokens <n>",
      "tokens per answer at most (default 256, or what fits in the context)",
      intOption("--max-new-tokens", 1),
    )
    .option(
      "--temperature <t>",
      "sampling temperature (default 1; 0 with --n 1)",
      floatOption("--temperature"),
    )
    .option("--top-k <k>", "keep the k most likely tokens", intOption("--top-k", 0))
    .option("--top-p <p>", "nucleus sampling mass", floatOption("--top-p"))
    .option("--seed <n>", "seed (default 0)", intOption("--seed", 0))
    .option(
      "--max-pairs-per-prompt <n>",
      "pairs kept per problem (default 4)",
      intOption("--max-pairs-per-prompt", 1),
    )
    .option("--batch-size <n>", "problems per generation call (default 16)", intOption("--batch-size", 1))
    .option("--chat-template <name>", "none (default), chatml or plain: how a problem becomes the prompt")
    .option("--no-progress", "no progress bar")
    .exitOverride()
    .action(async (opts) => {
      const { pairsCommand } = await import("./commands/pairs.js");
      const { result } = await pairsCommand(opts, (line) => io.stderr(`${line}\n`));
      const s = result.stats;
      io.stdout(
        `${result.pairs.length} pairs from ${s.withPairs} of ${s.problems} problems (${s.samples} samples); ` +
          `mean pass rate ${(100 * s.meanPassRate).toFixed(1)}%; all correct ${s.allCorrect}, all wrong ${s.allWrong} → ${opts.out}\n`,
      );
    });

  program
    .command("sft")
    .description(
      "Supervised fine-tuning on completions (prompt/completion or messages JSONL) on WebGPU, with checkpoints and resume",
    )
    .requiredOption(
      "--data <file>",
      "JSONL: {prompt, completion} or {messages} (last message = the completion), optional id",
    )
    .requiredOption(
      "--model <dir>",
      "HF model folder (config.json, *.safetensors, tokenizer.json) to start from",
    )
    .requiredOption("--run-dir <dir>", "metrics.jsonl and checkpoints/ go here")
    .option(
      "--config <file>",
      "JSON or YAML config: {chatTemplate, train: {steps, batchSize, learningRate, …}, optimizer: {…}}",
    )
    .option("--steps <n>", "optimiser steps in total (overrides train.steps)", intOption("--steps", 1))
    .option("--seed <n>", "seed (overrides train.seed)", intOption("--seed", 0))
    .option("--resume", "continue from the newest checkpoint in --run-dir")
    .option("--save-model <dir>", "after a completed run, save the model as an HF folder")
    .option("--no-progress", "no progress bar")
    .exitOverride()
    .action(async (opts) => {
      const { sftCommand } = await import("./commands/sft.js");
      const r = await sftCommand(opts, (line) => io.stderr(`${line}\n`));
      io.stdout(loopSummary(r.result));
      if (r.exitCode !== 0) throw new ExitCode(r.exitCode);
    });

  program
    .command("demo")
    .description(
      "The whole pipeline on the chains task (default; --task synthetic for the synthetic levels), nothing downloaded: shipped SFT checkpoint (or --from-scratch), on-policy pairs, DPO with uniform and sage from the same start and seed (warm-up untimed), evaluation by stratum, and an HTML + PNG report",
    )
    .option(
      "--quick",
      "a smaller run (about 1 minute on a 2-core CPU with lavapipe; the default takes about 6)",
    )
    .option("--out <dir>", "report folder (default runs/demo-<timestamp>)")
    .option(
      "--task <name>",
      "chains (default: chains of 1–5 +/− steps, start policy assets/sft-chains) or synthetic (levels 1–3, assets/sft-tiny)",
    )
    .option(
      "--from-scratch",
      "make the start policy by its SFT recipe instead of loading the shipped one (chains: from the shipped sft-tiny)",
    )
    .option(
      "--model-size <size>",
      "tiny (default, shipped), small, base or large (those need --from-scratch; for real GPUs)",
    )
    .option("--model <dir>", "start from this HF model folder (char tokenizer over the synthetic charset)")
    .option(
      "--sft-steps <n>",
      "SFT steps of each stage with --from-scratch (default: the recipe; synthetic 400 + 1500, chains 400)",
      intOption("--sft-steps", 1),
    )
    .option("--steps <n>", "DPO steps per method", intOption("--steps", 1))
    .option("--eval-every <n>", "evaluate every n steps", intOption("--eval-every", 1))
    .option("--seed <n>", "seed of sampling and training (default 0)", intOption("--seed", 0))
    .option("--problems <n>", "pool problems per level", intOption("--problems", 1))
    .option("--eval-problems <n>", "held-out problems per level", intOption("--eval-problems", 1))
    .option("--samples <n>", "samples per pool problem", intOption("--samples", 2))
    .option("--learning-rate <lr>", "DPO peak learning rate (default 2e-5)", floatOption("--learning-rate"))
    .option(
      "--rpo-alpha <a>",
      "weight of the chosen answers' NLL added to the DPO loss (TRL's rpo_alpha; default 1, 0 = plain DPO)",
      floatOption("--rpo-alpha"),
    )
    .option("--no-progress", "no progress bars")
    .exitOverride()
    .action(async (opts) => {
      const { demoCommand } = await import("./commands/demo.js");
      const r = await demoCommand(opts, (line) => io.stderr(`${line}\n`));
      io.stdout(
        `${r.verdict}\nreport: ${r.html}\ncharts: ${r.pngs.length} PNGs in ${r.outDir}\n` +
          `time: ${(r.seconds.total ?? 0).toFixed(0)} s (pairs ${(r.seconds.pairs ?? 0).toFixed(0)} s, DPO + evaluation ${(r.seconds.dpo_and_eval ?? 0).toFixed(0)} s)\n`,
      );
    });

  program
    .command("bench")
    .description(
      "Benchmarks. convergence: the convergence benchmark v2 (the same study as `npm run bench -- convergence`): one on-policy candidate set, uniform on the tuning seeds fixes the target and the gate, every method on the reported seeds, a label-noise arm; paired endpoints (AUC with Holm, steps and wall-clock to target), JSON + HTML report",
    )
    .argument("<suite>", "convergence")
    .option("--task <name>", "chains (default: chain lengths 1-5, start policy sft-chains) or synthetic")
    .option(
      "--quick",
      "smoke run: small pool, 16 steps, seeds 1,2, methods uniform,sage,score-only,score-only-nostab,sft-chosen, noise arm uniform,sage; not held to the design minimums; results in benchmarks/out",
    )
    .option(
      "--ablations",
      "SAGE's ablations (sage-raw, sage-probe, sage-implicit, sage-alpha0|0.5|2, sage-tau0|0.5|2) beside uniform and sage on the tuning seeds only; writes convergence-ablations-<task>-<adapter>.json",
    )
    .option(
      "--snr",
      "gradient SNR of uniform, score-only, score-only-nostab and sage on the tuning seeds only (each batch as 2 micro-batches, SNR every 5 steps; descriptive); writes convergence-snr-<task>-<adapter>.json",
    )
    .option(
      "--methods <list>",
      "comma-separated methods (default uniform,random,hard-mining,small-margin,selective,curriculum-only,score-only,score-only-nostab,sage,sft-chosen; must include uniform and sage)",
    )
    .option(
      "--noise-methods <list>",
      "the label-noise arm's methods (default uniform,score-only,score-only-nostab,sage; 'none': no arm)",
    )
    .option("--seeds <list>", "reported seeds (default 1,2,3,4,5; --quick 1,2)")
    .option("--tuning-seeds <list>", "seeds that fix the target, never reported (default 100)")
    .option(
      "--steps <n>",
      "DPO steps per run (default: the plan's, 150; --quick 16)",
      intOption("--steps", 1),
    )
    .option("--model <dir>", "start policy (default: the shipped checkpoint of the task)")
    .option("--out <dir>", "results folder (default benchmarks/results, or benchmarks/out with --quick)")
    .option(
      "--greedy",
      "after a study (trains nothing): greedy pass@1 of the start policy and of every finished run's final checkpoint, on its arm's held-out problems; writes convergence-greedy-<task>-<adapter>.json",
    )
    .option("--runs <dir>", "--greedy: the study's run folder (default benchmarks/out/<name>-runs)")
    .option(
      "--report-from <file>",
      "render a finished study's HTML report again from its JSON (<dir>/<name>.json → <dir>/<name>/); trains nothing, opens no GPU, takes no other option",
    )
    .exitOverride()
    .action(async (suite: string, opts) => {
      const { benchCommand } = await import("./commands/bench.js");
      const r = await benchCommand(suite, opts, (line) => io.stderr(`${line}\n`));
      io.stdout(
        r.mode === "comparison" || r.mode === "report"
          ? `${r.verdict}\nresults: ${r.json}\nreport: ${r.html}\n`
          : `results: ${r.json}\n`,
      );
    });

  program.addHelpText("after", examplesText(EXAMPLES.sage ?? []));
  for (const command of program.commands) {
    command.usage(usageLine(command));
    const examples = EXAMPLES[command.name()];
    if (examples) command.addHelpText("after", examplesText(examples));
  }
  // Paths are checked before any command starts work (before a model loads or the GPU opens).
  program.hook("preAction", async (_program, action) => {
    await checkCommandPaths(action.name(), action.opts());
  });
  return program;
}

/** `--stats <file> --out <file> [options]`: the required options first, then the rest. */
function usageLine(command: Command): string {
  const required = command.options.filter((o) => o.mandatory).map((o) => o.flags);
  const args = command.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
  return [...args, ...required, "[options]"].join(" ");
}

function examplesText(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
}

/** Examples shown at the end of each command's `--help` (`sage` for the top level). */
const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  sage: [
    "$ sage demo --quick                # the whole pipeline on the chains task (≈ 1 min on a CPU)",
    "$ sage train --help                # options of one command",
  ],
  select: [
    "$ sage select --stats stats.jsonl --out batches.jsonl --state selector.json --steps 10",
    "$ sage select --stats stats.jsonl --out batches.jsonl --selector uniform --batch-size 32",
  ],
  eval: [
    "$ sage eval --responses responses.jsonl --out graded.jsonl",
    "$ sage eval --responses responses.jsonl --out graded.jsonl --resume   # after a crash",
    `$ sage eval --responses responses.jsonl --config <(echo '{"grade": {"relTol": 1e-4}}') --json`,
  ],
  train: [
    "$ sage train --pairs pairs.jsonl --model models/sft --run-dir runs/dpo --steps 200",
    "$ sage train --pairs pairs.jsonl --model models/sft --run-dir runs/dpo --steps 200 --resume",
    "$ sage train --pairs pairs.jsonl --model models/sft --run-dir runs/uniform --selector uniform --steps 200",
  ],
  pairs: [
    "$ sage pairs --problems problems.jsonl --model models/sft --out pairs.jsonl",
    "$ sage pairs --problems problems.jsonl --model models/sft --out pairs.jsonl --n 16 --temperature 0.8",
  ],
  sft: [
    "$ sage sft --data sft.jsonl --model models/base --run-dir runs/sft --steps 500 --save-model models/sft",
  ],
  demo: ["$ sage demo --quick", "$ sage demo --out runs/my-demo --seed 1"],
  bench: [
    "$ sage bench convergence --quick",
    "$ sage bench convergence --methods uniform,sage --noise-methods none --seeds 1,2,3,4,5",
    "$ sage bench convergence --ablations",
    "$ sage bench convergence --snr",
    "$ sage bench convergence --greedy                 # after the study: greedy pass@1 of its checkpoints",
  ],
};

/** Thrown by an action to end with a given exit code after its output is written. */
class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Run the CLI on `argv` (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      ) {
        return 0;
      }
      return error.exitCode === 0 ? 0 : 2; // commander already printed the message
    }
    if (error instanceof ExitCode) return error.code;
    const command = argv.find((a) => !a.startsWith("-")) ?? "";
    if (error instanceof CliError) {
      io.stderr(`sage ${command}: ${error.message}\n`);
      return error.exitCode;
    }
    const e = error as Error & { code?: string };
    io.stderr(`sage ${command}: ${e.code ? `[${e.code}] ` : ""}${e.message}\n`);
    return exitCodeFor(error);
  }
}
