/**
 * Sentence embeddings of code chunks with all-MiniLM-L6-v2 (ONNX, int8)
 * through transformers.js, on the CPU and apart from the generator.
 */
import { basename, dirname, join } from "node:path";
import {
  env,
  type FeatureExtractionPipeline,
  mean_pooling,
  pipeline,
  type Tensor,
} from "@huggingface/transformers";
import { sha256File } from "../models/mod.ts";

/**
 * Tokens embedded per text. all-MiniLM-L6-v2 was trained on 128 and
 * sentence-transformers cuts at 256; the tokenizer's own limit (512) only
 * costs time on long chunks, whose head (signature, docstring) says most.
 */
const MAX_TOKENS = 256;

/** The weights transformers.js loads for `dtype: "q8"`, inside the model's folder. */
const WEIGHTS = "onnx/model_quantized.onnx";

/** Embeds texts into unit vectors. */
export class Embedder {
  /** Length of every vector. */
  readonly dimensions: number;
  /** sha256 of the weights: vectors of different weights do not compare. */
  readonly model: string;
  #extract: FeatureExtractionPipeline;

  private constructor(extract: FeatureExtractionPipeline, dimensions: number, model: string) {
    this.#extract = extract;
    this.dimensions = dimensions;
    this.model = model;
  }

  /**
   * Loads the model from a local folder (config.json, tokenizer.json,
   * onnx/model_quantized.onnx); never reaches for the network.
   */
  static async load(modelDir: string, options: { threads: number }): Promise<Embedder> {
    env.allowRemoteModels = false;
    env.localModelPath = `${dirname(modelDir)}/`;
    const extract = await pipeline("feature-extraction", basename(modelDir), {
      dtype: "q8",
      device: "cpu",
      session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 },
    }) as FeatureExtractionPipeline;
    const probe = await extract(["probe"], { pooling: "mean", normalize: true });
    return new Embedder(extract, probe.dims[1], await sha256File(join(modelDir, WEIGHTS)));
  }

  /** Mean-pooled, normalised embeddings, one per text, each cut at {@link MAX_TOKENS}. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    // The feature-extraction pipeline pads to the tokenizer's 512: call its parts with our limit.
    const inputs = this.#extract.tokenizer(texts, {
      padding: true,
      truncation: true,
      max_length: MAX_TOKENS,
    });
    const { last_hidden_state } = await this.#extract.model(inputs) as {
      last_hidden_state: Tensor;
    };
    const pooled = mean_pooling(last_hidden_state, inputs.attention_mask as Tensor).normalize(
      2,
      -1,
    );
    const data = pooled.data as Float32Array;
    return texts.map((_, index) =>
      data.slice(index * this.dimensions, (index + 1) * this.dimensions)
    );
  }
}
