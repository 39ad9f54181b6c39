// Original file: proto/embedder.proto


export interface EmbedTextsRequest {
  'texts'?: (string)[];
}

export interface EmbedTextsRequest__Output {
  'texts': (string)[];
}
