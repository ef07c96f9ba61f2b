package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GlueReportTest {

    @TempDir
    Path tmp;

    @Test
    void reportTabulatesRescoredRunsWithParametersSpeedAndAChart() throws Exception {
        // 64 dev pairs of each: the report must re-score what training scored, whatever the dev set.
        Path glue = tmp.resolve("glue");
        for (GlueTask t : List.of(GlueTask.RTE, GlueTask.WNLI)) {
            org.distill4j.GlueSample.slice(glue, t.dirName(), 32, 64);
            new FineTuner(new FineTuneConfig("builtin:all-minilm-l6-v2", t, 1, 1e-4f, 16, 64, 3,
                    tmp.resolve(t.dirName()), glue, false, 32, 0)).run(false);
        }
        List<GlueReport.Entry> entries = GlueReport.collect(List.of(tmp.resolve("RTE"), tmp.resolve("WNLI")), glue, 64);
        assertEquals(2, entries.size());
        for (GlueReport.Entry e : entries) {
            assertEquals("builtin:all-minilm-l6-v2", e.model());
            assertEquals(22_565_376L + 384 * 2 + 2, e.parameters()); // encoder + 2-way head
            assertTrue(e.examplesPerSecond() > 0);
            // The report re-scores on dev: it must equal what training recorded for the best epoch.
            String info = Files.readString(e.dir().resolve("distill.json"));
            assertTrue(info.contains(String.valueOf(e.scores().get(0).score())), info + " vs " + e.scores());
        }
        Path out = tmp.resolve("report");
        GlueReport.write(entries, out);
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.startsWith("| model | RTE (acc) | WNLI (acc) | average | parameters | dev examples/s |"), md);
        assertTrue(md.contains("| builtin:all-minilm-l6-v2 |") && md.contains("22.6 M"), md);
        byte[] png = Files.readAllBytes(out.resolve("report.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        assertTrue(png.length > 5_000);
        assertTrue(Files.readString(out.resolve("report.json")).contains("\"dev_examples_per_second\""));
    }

    @Test
    void speedViewMarksTheModelsNoFasterModelBeatsAndDrawsThem() throws Exception {
        java.util.function.BiFunction<String, double[], GlueReport.Entry> e = (name, v) -> new GlueReport.Entry(name,
                Path.of(name), GlueTask.MRPC, List.of(new TaskScore(java.util.Map.of("f1", v[0]), v[0])), 1, 1, v[1]);
        GlueReport.Entry teacher = e.apply("teacher", new double[] {0.87, 50});
        GlueReport.Entry six = e.apply("six", new double[] {0.86, 100});
        GlueReport.Entry slowWorse = e.apply("slow-worse", new double[] {0.80, 60});
        GlueReport.Entry three = e.apply("three", new double[] {0.75, 200});
        GlueReport.Entry fastWorst = e.apply("fast-worst", new double[] {0.70, 150});
        List<GlueReport.Entry> all = List.of(teacher, six, slowWorse, three, fastWorst);
        assertEquals(List.of(three, six, teacher), GlueReport.paretoFront(all));
        GlueReport.write(all, tmp.resolve("r"));
        assertTrue(Files.size(tmp.resolve("r/speed-MRPC.png")) > 1000);
    }

    @Test
    void aSparseModelShowsItsNonZeroParameters() {
        TaskScore s = new TaskScore(java.util.Map.of("accuracy", 0.8), 0.8);
        assertEquals("33.2 M (3.3 M non-zero)", GlueReport.parameters(new GlueReport.Entry("gmp-90", Path.of("x"),
                GlueTask.SST2, List.of(s), 33_212_930, 3_321_293, 100)));
        assertEquals("33.2 M", GlueReport.parameters(new GlueReport.Entry("dense", Path.of("x"), GlueTask.SST2,
                List.of(s), 33_212_930, 33_200_000, 100)));
    }

    @Test
    void aSavedReportReadsBackAsTheEntriesItWasWrittenFrom() throws Exception {
        List<GlueReport.Entry> entries = List.of(
                new GlueReport.Entry("teacher", Path.of("runs/t/best"), GlueTask.MRPC,
                        List.of(new TaskScore(new java.util.LinkedHashMap<>(java.util.Map.of("f1", 0.89, "accuracy", 0.85)),
                                0.87)), 33_212_930, 33_212_915, 74.2),
                new GlueReport.Entry("gmp-90", Path.of("runs/g/best"), GlueTask.MNLI,
                        List.of(new TaskScore(java.util.Map.of("accuracy", 0.78), 0.78),
                                new TaskScore(java.util.Map.of("accuracy", 0.79), 0.79)), 33_212_930, 3_321_293, 0));
        Path out = tmp.resolve("saved");
        GlueReport.write(entries, out);
        String md = Files.readString(out.resolve("report.md"));
        Files.copy(out.resolve("report.json"), tmp.resolve("saved-json"));
        assertEquals(entries, GlueReport.read(out));
        Files.delete(out.resolve("report.md"));
        GlueReport.write(GlueReport.read(out), out);
        assertEquals(md, Files.readString(out.resolve("report.md")));

        Files.writeString(out.resolve("report.json"), "[{\"model\": \"x\"}]");
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.distill4j.DistillException.class,
                () -> GlueReport.read(out));
        assertTrue(e.getMessage().contains("report.json, entry 1: missing \"dir\""), e.getMessage());
        Files.writeString(out.resolve("report.json"), Files.readString(tmp.resolve("saved-json"))
                .replace("\"MNLI\"", "\"MNLX\""));
        e = org.junit.jupiter.api.Assertions.assertThrows(org.distill4j.DistillException.class,
                () -> GlueReport.read(out));
        assertTrue(e.getMessage().contains("report.json, entry 2: ") && e.getMessage().contains("MNLX"), e.getMessage());
    }

    @Test
    void everySeriesOfALargeGridGetsItsOwnColourAndMarker() {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 114; i++) {
            assertTrue(seen.add(GlueReport.color(i) + "/" + GlueReport.marker(i).getClass().getSimpleName()),
                    "series " + i + " is drawn like an earlier one");
        }
        java.util.Set<java.awt.Color> bars = new java.util.HashSet<>();
        for (int i = 0; i < 19; i++) {
            assertTrue(bars.add(GlueReport.color(i)), "bar " + i + " has an earlier bar's colour");
        }
    }
}
