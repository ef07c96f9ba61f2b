package org.distill4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./distill spark} as a user runs it: errors raised on executors reported as one line. */
class SparkCliTest {

    @TempDir
    Path tmp;

    @Test
    void anExecutorsErrorIsReportedByItsMessage() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, List.of("The cat sat on the mat.", "A dog barked twice."), StandardCharsets.UTF_8);
        Path out = tmp.resolve("augmented.txt");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream was = System.err;
        int code;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            // all-MiniLM-L6-v2 has no masked-LM head: the executors find that out when they load it.
            code = SparkCli.run("augment", "--corpus", corpus.toString(), "--model", "builtin:all-minilm-l6-v2",
                    "--out", out.toString(), "--master", "local[1]");
        } finally {
            System.setErr(was);
        }
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, message);
        assertTrue(message.contains("distill spark augment: augmentation needs a model with a masked-LM head")
                && message.contains("builtin:all-minilm-l6-v2"), message);
        assertFalse(Files.exists(out));
    }
}
