/**
 * What a project's adapter learns from: fill-in-the-middle samples cut from
 * the project's own files (the rest of a line, from a point inside it, as the
 * user would be completing it), and the completions the user accepted,
 * weighted up. Rejected text is never a target. The files are split into a
 * training part and a held-out part by a seeded hash of their path, so the
 * split is the same on every run and a file never lands in both.
 */
import { createHash } from "node:crypto";
import { headWholeLines, tailWholeLines } from "../documents/mod.ts";
import type { ProjectFile } from "../indexer/mod.ts";
import type { Suggestion } from "./join.ts";

/** The files samples are cut from (the indexer reads them), part of this module's API. */
export type { ProjectFile };

/** One training or evaluation sample: the model sees prefix and suffix, and learns `middle`. */
export interface FimSample {
  /** The file it was cut from, relative to the project. */
  path: string;
  prefix: string;
  suffix: string;
  middle: string;
  /** How many times it counts in training (accepted completions count more). */
  weight: number;
}

/** How samples are cut. */
export interface SampleOptions {
  seed: number;
  /** Share of the files held out for evaluation. */
  heldoutShare: number;
  /** Most samples cut from one file. */
  perFile: number;
  /** Most samples cut from one held-out file (adapterData's; more lines measure a candidate better). */
  heldoutPerFile?: number;
  /** The prompt's windows, as the pipeline cuts them (config.completion). */
  maxPrefixChars: number;
  maxSuffixChars: number;
}

/** The samples of a project, and what they were cut from. */
export interface AdapterData {
  train: FimSample[];
  heldout: FimSample[];
  trainFiles: number;
  heldoutFiles: number;
  /** Samples from accepted (or partly kept) completions, among `train`. */
  accepted: number;
}

/** Weight of a completion the user accepted, against 1 for a line cut from a file. */
const ACCEPTED_WEIGHT = 3;
/** A line shorter than this (trimmed) teaches little: a brace, `else:`, `}`. */
const MIN_LINE_CHARS = 12;

/** A number in [0, 1) from a text, the same on every run and machine. */
export function unitHash(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0) / 2 ** 32;
}

/** Whether the seeded split holds this file out for evaluation. */
export function isHeldOut(path: string, options: Pick<SampleOptions, "seed" | "heldoutShare">) {
  return unitHash(`${options.seed}:split:${path}`) < options.heldoutShare;
}

/**
 * Up to `perFile` samples from one file: lines of code chosen by a seeded
 * hash, each cut at a point between its indentation and its middle; the
 * target is the rest of the line.
 */
export function fileSamples(file: ProjectFile, options: SampleOptions): FimSample[] {
  const lines = file.text.split("\n");
  const starts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    starts.push(offset);
    offset += line.length + 1;
  }
  const candidates = lines
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => line.trim().length >= MIN_LINE_CHARS && !line.includes("\r"))
    .map((candidate) => ({
      ...candidate,
      rank: unitHash(`${options.seed}:line:${file.path}:${candidate.index}`),
    }))
    .sort((a, b) => a.rank - b.rank)
    .slice(0, options.perFile);
  return candidates.map(({ line, index, rank }) => {
    const indent = line.length - line.trimStart().length;
    const code = line.trimEnd().length - indent;
    // The rank already fixes this line; its fraction places the cut in the line's first half.
    const cut = indent + Math.floor((rank * 1e6 % 1) * (code / 2));
    const lineStart = starts[index];
    return {
      path: file.path,
      prefix: tailWholeLines(file.text.slice(0, lineStart + cut), options.maxPrefixChars),
      suffix: headWholeLines(
        file.text.slice(lineStart + line.length),
        options.maxSuffixChars,
      ),
      middle: line.slice(cut).trimEnd(),
      weight: 1,
    };
  }).filter((sample) => sample.middle.trim() !== "");
}

/**
 * The project's samples: held-out files give evaluation samples only, the
 * others training samples, and accepted or partly kept completions join
 * the training samples with their kept text as the target.
 */
export function adapterData(
  files: ProjectFile[],
  outcomes: Suggestion[],
  options: SampleOptions,
): AdapterData {
  const data: AdapterData = { train: [], heldout: [], trainFiles: 0, heldoutFiles: 0, accepted: 0 };
  for (const file of files) {
    const heldOut = isHeldOut(file.path, options);
    if (heldOut) {
      const perFile = options.heldoutPerFile ?? options.perFile;
      data.heldout.push(...fileSamples(file, { ...options, perFile }));
      data.heldoutFiles++;
    } else {
      data.train.push(...fileSamples(file, options));
      data.trainFiles++;
    }
  }
  for (const { shown, outcome, acceptedText } of outcomes) {
    const kept = outcome === "accepted" ? shown.text : outcome === "partial" ? acceptedText : "";
    if (!kept?.trim() || isHeldOut(shown.path, options)) continue;
    data.train.push({
      path: shown.path,
      prefix: shown.prefix,
      suffix: shown.suffix,
      middle: kept,
      weight: ACCEPTED_WEIGHT,
    });
    data.accepted++;
  }
  return data;
}
