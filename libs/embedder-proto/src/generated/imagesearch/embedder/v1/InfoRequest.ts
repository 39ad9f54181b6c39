// Original file: proto/embedder.proto


export interface InfoRequest {
}

export interface InfoRequest__Output {
}
