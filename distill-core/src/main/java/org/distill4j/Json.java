package org.distill4j;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.ObjectWriter;

/**
 * The one JSON mapper for every file distill4j writes and reads: snake_case keys (as
 * HuggingFace's {@code config.json} and our {@code metrics.jsonl} have them), records as objects.
 */
public final class Json {

    /** Reads and writes with snake_case property names. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    /** Writes indented, for files people read. */
    public static final ObjectWriter PRETTY = MAPPER.writer().with(SerializationFeature.INDENT_OUTPUT);

    private Json() {}
}
