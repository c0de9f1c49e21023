/**
 * Retrieval: chunks of the project, their embeddings and terms, and hybrid
 * search over them.
 *
 * @module
 */
export { type Chunk, chunkText } from "./chunker.ts";
export { Embedder } from "./embedder.ts";
export { type Hit, IndexStore, type StoredChunk, type StoredSymbol } from "./index_store.ts";
export {
  type ContextSource,
  reciprocalRankFusion,
  type RetrievalQuery,
  Retriever,
  type ScoredChunk,
} from "./retriever.ts";
export { codeTerms, subWords } from "./terms.ts";
