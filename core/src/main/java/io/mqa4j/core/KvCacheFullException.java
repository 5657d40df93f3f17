package io.mqa4j.core;

/** A KV cache has no room for what was appended; the cache is left exactly as it was. */
public class KvCacheFullException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public KvCacheFullException(String message) {
    super(message);
  }
}
