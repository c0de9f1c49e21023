/**
 * Sentence embeddings of code chunks with all-MiniLM-L6-v2 (ONNX, int8)
 * through transformers.js, on the CPU and apart from the generator.
 */
import { basename, dirname } from "node:path";
import { env, type FeatureExtractionPipeline, pipeline } from "@huggingface/transformers";

/** Embeds texts into unit vectors. */
export class Embedder {
  /** Length of every vector. */
  readonly dimensions: number;
  #extract: FeatureExtractionPipeline;

  private constructor(extract: FeatureExtractionPipeline, dimensions: number) {
    this.#extract = extract;
    this.dimensions = dimensions;
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
    return new Embedder(extract, probe.dims[1]);
  }

  /** Mean-pooled, normalised embeddings, one per text. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const output = await this.#extract(texts, { pooling: "mean", normalize: true });
    const data = output.data as Float32Array;
    return texts.map((_, index) =>
      data.slice(index * this.dimensions, (index + 1) * this.dimensions)
    );
  }
}
