package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The general-distillation corpus from real GLUE training files. */
class GlueCorpusTest {

    @TempDir
    Path tmp;

    @Test
    void everyTrainingTextOnceInFileOrder() throws Exception {
        Path out = tmp.resolve("corpus/glue.txt");
        GlueCorpus.Result r = GlueCorpus.write(GlueReaderTest.GLUE, List.of(GlueTask.RTE, GlueTask.MRPC), out, false);
        List<String> lines = Files.readAllLines(out);
        assertEquals(r.lines(), lines.size());
        assertEquals(lines.size(), new HashSet<>(lines).size(), "each text once");
        assertEquals("No Weapons of Mass Destruction Found in Iraq Yet.", lines.get(0));
        assertEquals("Weapons of Mass Destruction Found in Iraq.", lines.get(1), "then the pair's second text");

        // What the reader sees, deduplicated, is exactly the corpus: both sides, training files only.
        Set<String> expected = new LinkedHashSet<>();
        for (GlueTask task : List.of(GlueTask.RTE, GlueTask.MRPC)) {
            for (Example e : GlueReader.read(GlueReaderTest.GLUE, task, task.train(), false).examples()) {
                expected.add(e.textA().replaceAll("\\s+", " ").strip());
                expected.add(e.textB().replaceAll("\\s+", " ").strip());
            }
        }
        expected.remove("");
        assertEquals(List.copyOf(expected), lines);
        assertEquals(r.lines(), r.perTask().get(GlueTask.RTE) + r.perTask().get(GlueTask.MRPC));
        assertTrue(r.perTask().get(GlueTask.RTE) > 4000, "RTE's 2,490 training pairs give thousands of texts");
        String dev = GlueReader.read(GlueReaderTest.GLUE, GlueTask.RTE, GlueTask.RTE.split("dev"), false).examples()
                .get(0).textA();
        assertFalse(lines.contains(dev), "dev texts stay out");
        assertFalse(Files.exists(tmp.resolve("corpus/glue.txt.partial")));
    }

    @Test
    void withPairsAPairTaskExampleIsOneTabbedLine() throws Exception {
        Path out = tmp.resolve("pairs.txt");
        GlueCorpus.Result r = GlueCorpus.write(GlueReaderTest.GLUE, List.of(GlueTask.RTE, GlueTask.COLA), out, false,
                true);
        List<String> lines = Files.readAllLines(out);
        assertEquals(r.lines(), lines.size());
        assertEquals("No Weapons of Mass Destruction Found in Iraq Yet.\tWeapons of Mass Destruction Found in Iraq.",
                lines.get(0));
        List<Example> rte = GlueReader.read(GlueReaderTest.GLUE, GlueTask.RTE, GlueTask.RTE.train(), false).examples();
        int rteLines = r.perTask().get(GlueTask.RTE);
        assertTrue(rteLines > 2400 && rteLines <= rte.size(), "one line a pair: " + rteLines + " of " + rte.size());
        for (String line : lines.subList(0, rteLines)) {
            assertEquals(2, line.split("\t", -1).length, line);
        }
        // A single-sentence task's texts stay a line each, without tabs.
        for (String line : lines.subList(rteLines, lines.size())) {
            assertFalse(line.contains("\t"), line);
        }
        assertTrue(r.perTask().get(GlueTask.COLA) > 8000, "CoLA's 8,551 sentences");
    }

    @Test
    void missingTasksAreListedAndNoneFoundIsAnError() throws Exception {
        Path glue = tmp.resolve("glue");
        Files.createDirectories(glue.resolve("RTE"));
        Files.copy(GlueReaderTest.GLUE.resolve("RTE/train.tsv"), glue.resolve("RTE/train.tsv"));
        GlueCorpus.Result r = GlueCorpus.write(glue, List.of(GlueTask.RTE, GlueTask.COLA), tmp.resolve("c.txt"), false);
        assertEquals(List.of(GlueTask.COLA), r.missing());
        assertEquals(Set.of(GlueTask.RTE), r.perTask().keySet());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GlueCorpus.write(glue, List.of(GlueTask.COLA), tmp.resolve("d.txt"), false));
        assertTrue(e.getMessage().contains("no GLUE training file of [CoLA]"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("d.txt")));
    }
}
