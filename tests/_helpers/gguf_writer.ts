/**
 * Writes tiny random-weight llama models in GGUF, for tests of the plumbing
 * (loading, prompt-format detection, cancellation). Their output is noise.
 */

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const ALIGNMENT = 32;
const enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
}
const TENSOR_F32 = 0;
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

type Value =
  | { type: ValueType.Uint32 | ValueType.Int32 | ValueType.Float32; value: number }
  | { type: ValueType.Bool; value: boolean }
  | { type: ValueType.String; value: string }
  | { type: ValueType.Array; of: ValueType.String; value: string[] }
  | { type: ValueType.Array; of: ValueType.Float32 | ValueType.Int32; value: number[] };

/** What kind of tiny model to write. */
export interface TinyModelOptions {
  /** Add Qwen-style FIM tokens (and their metadata ids). */
  fim: boolean;
  /** A Jinja chat template to store in the metadata. */
  chatTemplate?: string;
  /**
   * Make output.weight a copy of token_embd.weight, as a model with tied
   * embeddings whose GGUF stores the matrix twice.
   */
  tiedOutput?: boolean;
}

/** A ChatML template, the shape SmolLM2 and Qwen use. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

class ByteSink {
  #chunks: Uint8Array[] = [];
  length = 0;

  bytes(data: Uint8Array): void {
    this.#chunks.push(data);
    this.length += data.length;
  }
  u32(value: number): void {
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, value, true);
    this.bytes(new Uint8Array(view.buffer));
  }
  i32(value: number): void {
    const view = new DataView(new ArrayBuffer(4));
    view.setInt32(0, value, true);
    this.bytes(new Uint8Array(view.buffer));
  }
  u64(value: number): void {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(value), true);
    this.bytes(new Uint8Array(view.buffer));
  }
  f32(value: number): void {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value, true);
    this.bytes(new Uint8Array(view.buffer));
  }
  string(value: string): void {
    const encoded = new TextEncoder().encode(value);
    this.u64(encoded.length);
    this.bytes(encoded);
  }
  pad(): void {
    const padding = (ALIGNMENT - (this.length % ALIGNMENT)) % ALIGNMENT;
    this.bytes(new Uint8Array(padding));
  }
  result(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function writeValue(sink: ByteSink, entry: Value): void {
  sink.u32(entry.type);
  switch (entry.type) {
    case ValueType.Uint32:
      return sink.u32(entry.value);
    case ValueType.Int32:
      return sink.i32(entry.value);
    case ValueType.Float32:
      return sink.f32(entry.value);
    case ValueType.Bool:
      return sink.bytes(new Uint8Array([entry.value ? 1 : 0]));
    case ValueType.String:
      return sink.string(entry.value);
    case ValueType.Array:
      sink.u32(entry.of);
      sink.u64(entry.value.length);
      for (const item of entry.value) {
        if (entry.of === ValueType.String) sink.string(item as string);
        else if (entry.of === ValueType.Float32) sink.f32(item as number);
        else sink.i32(item as number);
      }
  }
}

/** A seeded generator, so fixtures are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

/** Builds a 2-layer llama GGUF with a byte-fallback SentencePiece vocabulary. */
export function tinyLlamaGguf(options: TinyModelOptions): Uint8Array {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL];
  const fimIds: number[] = [];
  if (options.fim) {
    for (const token of ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]) {
      fimIds.push(tokens.length);
      tokens.push(token);
      types.push(TOKEN_CONTROL);
    }
  }
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TOKEN_BYTE);
  }
  for (const word of ["▁", "▁def", "▁return", "▁x", "(", ")", ":", "▁=", "▁+", "1"]) {
    tokens.push(word);
    types.push(TOKEN_NORMAL);
  }
  const vocab = tokens.length;
  const embd = 32, ff = 64, layers = 2, heads = 4;

  const metadata: [string, Value][] = [
    ["general.architecture", { type: ValueType.String, value: "llama" }],
    ["general.name", { type: ValueType.String, value: options.fim ? "tiny-fim" : "tiny-chat" }],
    ["general.alignment", { type: ValueType.Uint32, value: ALIGNMENT }],
    ["llama.context_length", { type: ValueType.Uint32, value: 512 }],
    ["llama.embedding_length", { type: ValueType.Uint32, value: embd }],
    ["llama.block_count", { type: ValueType.Uint32, value: layers }],
    ["llama.feed_forward_length", { type: ValueType.Uint32, value: ff }],
    ["llama.attention.head_count", { type: ValueType.Uint32, value: heads }],
    ["llama.attention.head_count_kv", { type: ValueType.Uint32, value: heads }],
    ["llama.attention.layer_norm_rms_epsilon", { type: ValueType.Float32, value: 1e-5 }],
    ["llama.rope.dimension_count", { type: ValueType.Uint32, value: embd / heads }],
    ["tokenizer.ggml.model", { type: ValueType.String, value: "llama" }],
    ["tokenizer.ggml.tokens", { type: ValueType.Array, of: ValueType.String, value: tokens }],
    [
      "tokenizer.ggml.scores",
      { type: ValueType.Array, of: ValueType.Float32, value: tokens.map(() => 0) },
    ],
    ["tokenizer.ggml.token_type", { type: ValueType.Array, of: ValueType.Int32, value: types }],
    ["tokenizer.ggml.unknown_token_id", { type: ValueType.Uint32, value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: ValueType.Uint32, value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: ValueType.Uint32, value: 2 }],
    ["tokenizer.ggml.add_bos_token", { type: ValueType.Bool, value: true }],
  ];
  if (options.fim) {
    metadata.push(
      ["tokenizer.ggml.fim_pre_token_id", { type: ValueType.Uint32, value: fimIds[0] }],
      ["tokenizer.ggml.fim_suf_token_id", { type: ValueType.Uint32, value: fimIds[1] }],
      ["tokenizer.ggml.fim_mid_token_id", { type: ValueType.Uint32, value: fimIds[2] }],
    );
  }
  if (options.chatTemplate) {
    metadata.push(["tokenizer.chat_template", {
      type: ValueType.String,
      value: options.chatTemplate,
    }]);
  }

  const tensors: { name: string; dims: number[]; norm?: boolean }[] = [
    { name: "token_embd.weight", dims: [embd, vocab] },
    { name: "output_norm.weight", dims: [embd], norm: true },
    { name: "output.weight", dims: [embd, vocab] },
  ];
  for (let layer = 0; layer < layers; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      { name: `${block}.attn_norm.weight`, dims: [embd], norm: true },
      { name: `${block}.attn_q.weight`, dims: [embd, embd] },
      { name: `${block}.attn_k.weight`, dims: [embd, embd] },
      { name: `${block}.attn_v.weight`, dims: [embd, embd] },
      { name: `${block}.attn_output.weight`, dims: [embd, embd] },
      { name: `${block}.ffn_norm.weight`, dims: [embd], norm: true },
      { name: `${block}.ffn_gate.weight`, dims: [embd, ff] },
      { name: `${block}.ffn_up.weight`, dims: [embd, ff] },
      { name: `${block}.ffn_down.weight`, dims: [ff, embd] },
    );
  }

  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }
  const sizes = tensors.map((tensor) => tensor.dims.reduce((a, b) => a * b, 1) * 4);
  let offset = 0;
  for (const [index, tensor] of tensors.entries()) {
    sink.string(tensor.name);
    sink.u32(tensor.dims.length);
    for (const dim of tensor.dims) sink.u64(dim);
    sink.u32(TENSOR_F32);
    sink.u64(offset);
    offset += Math.ceil(sizes[index] / ALIGNMENT) * ALIGNMENT;
  }
  sink.pad();
  const next = random(42);
  const written = new Map<string, Float32Array<ArrayBuffer>>();
  for (const [index, tensor] of tensors.entries()) {
    let values = new Float32Array(sizes[index] / 4);
    for (let i = 0; i < values.length; i++) values[i] = tensor.norm ? 1 : next() * 0.2;
    if (options.tiedOutput && tensor.name === "output.weight") {
      values = written.get("token_embd.weight")!;
    }
    written.set(tensor.name, values);
    sink.bytes(new Uint8Array(values.buffer));
    sink.pad();
  }
  return sink.result();
}

/** Writes a tiny model to a temp file and returns its path. */
export async function writeTinyModel(options: TinyModelOptions): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ast-complete-gguf-" });
  const path = `${dir}/${options.fim ? "tiny-fim" : "tiny-chat"}.gguf`;
  await Deno.writeFile(path, tinyLlamaGguf(options));
  return path;
}
