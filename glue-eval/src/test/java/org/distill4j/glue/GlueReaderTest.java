package org.distill4j.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distill4j.DistillException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlueReaderTest {

    static final Path GLUE = Path.of(System.getProperty("glue.dir", "../../shared/data/glue"));

    @TempDir
    Path tmp;

    /** Row counts from shared/data/glue/SOURCES.md, which match the official GLUE sizes. */
    @ParameterizedTest
    @CsvSource({"CoLA,train,8551", "CoLA,dev,1043", "CoLA,test,1063", "SST-2,train,67349", "SST-2,dev,872",
        "SST-2,test,1821", "MRPC,train,3668", "MRPC,dev,408", "MRPC,test,1725", "STS-B,train,5749", "STS-B,dev,1500",
        "STS-B,test,1379", "RTE,train,2490", "RTE,dev,277", "RTE,test,3000", "WNLI,train,635", "WNLI,dev,71",
        "WNLI,test,146", "QNLI,dev,5463", "QNLI,test,5463", "MNLI,ax,1104"})
    void everyRealFileReadsWithTheStandardRowCount(String task, String split, int rows) {
        GlueTask t = GlueTask.parse(task);
        Dataset d = GlueReader.read(GLUE, t, t.split(split), false);
        assertEquals(rows, d.size());
        assertEquals(0, d.skippedRows());
        assertEquals(d.split().layout().labeled(), d.examples().get(0).labeled());
    }

    @ParameterizedTest
    @CsvSource({"SST-2,444", "CoLA,721", "MRPC,279", "RTE,131", "WNLI,31", "QNLI,2761"})
    void labelDistributionsMatchPublishedDevStatistics(String task, int ones) {
        GlueTask t = GlueTask.parse(task);
        Dataset d = GlueReader.read(GLUE, t, t.split("dev"), false);
        // label index 1: positive for SST-2/CoLA/MRPC/WNLI, not_entailment for RTE/QNLI
        assertEquals(ones, d.examples().stream().filter(e -> e.label() == 1).count());
    }

    @Test
    void textsAndIndicesComeFromTheRightColumns() {
        Dataset mrpc = GlueReader.read(GLUE, GlueTask.MRPC, GlueTask.MRPC.split("dev"), false);
        Example first = mrpc.examples().get(0);
        assertTrue(first.textA().startsWith("He said the foodservice pie business"), first.textA());
        // The second text opens with a bare quote: kept as is, no CSV quote processing.
        assertTrue(first.textB().startsWith("\" The foodservice pie business does not fit"), first.textB());
        Dataset sst = GlueReader.read(GLUE, GlueTask.SST2, GlueTask.SST2.split("test"), false);
        assertNull(sst.examples().get(0).textB());
        assertEquals(0, sst.examples().get(0).index());
        assertTrue(!sst.examples().get(0).labeled());
        Dataset sts = GlueReader.read(GLUE, GlueTask.STSB, GlueTask.STSB.split("dev"), false);
        assertEquals(5.0, sts.examples().get(0).label(), 0);
    }

    @Test
    void mnliAndQqpFilesInTheirExactLayoutsRead() throws Exception {
        Path mnli = Files.createDirectories(tmp.resolve("MNLI"));
        String trainRow = String.join("\t", "0", "31193", "31193n", "government", "( ( bin ) )", "( ( bin2 ) )",
                "(ROOT (S))", "(ROOT (S))", "Conceptually cream skimming has two basic dimensions.",
                "Product and geography are what make cream skimming work.", "neutral", "neutral");
        Files.write(mnli.resolve("train.tsv"), List.of("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\t"
                + "sentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label",
                trainRow));
        String devRow = String.join("\t", "0", "63735", "63735n", "slate", "b1", "b2", "p1", "p2",
                "The new rights are nice enough", "Everyone really likes the newest benefits", "neutral",
                "entailment", "neutral", "neutral", "neutral", "neutral");
        Files.write(mnli.resolve("dev_mismatched.tsv"), List.of("header with 16 columns\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
                devRow));
        Files.write(mnli.resolve("test_matched.tsv"), List.of("index\tpromptID\tpairID\tgenre\tb1\tb2\tp1\tp2\t"
                + "sentence1\tsentence2", "7\t1\t1n\tfiction\tb1\tb2\tp1\tp2\tHe slept.\tHe was awake."));
        Path qqp = Files.createDirectories(tmp.resolve("QQP"));
        Files.write(qqp.resolve("dev.tsv"), List.of("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
                "201359\t303345\t303346\tWhy are African-Americans so beautiful?\tWhy are hispanics so beautiful?\t0"));

        Example train = GlueReader.read(tmp, GlueTask.MNLI, GlueTask.MNLI.train(), false).examples().get(0);
        assertEquals(2.0, train.label(), 0); // neutral
        assertTrue(train.textB().startsWith("Product and geography"));
        Example dev = GlueReader.read(tmp, GlueTask.MNLI, GlueTask.MNLI.split("dev_mismatched"), false).examples()
                .get(0);
        assertEquals(2.0, dev.label(), 0); // gold_label, the last column
        Example test = GlueReader.read(tmp, GlueTask.MNLI, GlueTask.MNLI.split("test_matched"), false).examples()
                .get(0);
        assertEquals(7, test.index());
        assertEquals(List.of("dev_matched", "dev_mismatched"),
                GlueTask.MNLI.select("dev").stream().map(Split::name).toList());
        Example q = GlueReader.read(tmp, GlueTask.QQP, GlueTask.QQP.split("dev"), false).examples().get(0);
        assertEquals("Why are hispanics so beautiful?", q.textB());
        assertEquals(0.0, q.label(), 0);
    }

    @Test
    void malformedRowStopsWithFileLineAndReasonOrIsSkippedAndCounted() throws Exception {
        Path rte = Files.createDirectories(tmp.resolve("RTE"));
        Files.write(rte.resolve("dev.tsv"), List.of("index\tsentence1\tsentence2\tlabel", "0\tA man sleeps.\tA man is "
                + "asleep.\tentailment", "1\tonly two fields", "2\tIt rains.\tIt is dry.\tmaybe",
                "3\tCats purr.\tCats make sounds.\tentailment"));
        DistillException e = assertThrows(DistillException.class,
                () -> GlueReader.read(tmp, GlueTask.RTE, GlueTask.RTE.split("dev"), false));
        assertTrue(e.getMessage().contains(rte.resolve("dev.tsv") + ":3: 2 tab-separated fields, expected 4"),
                e.getMessage());
        assertTrue(e.getMessage().contains("--skip-bad-rows"), e.getMessage());
        Dataset d = GlueReader.read(tmp, GlueTask.RTE, GlueTask.RTE.split("dev"), true);
        assertEquals(2, d.size());
        assertEquals(2, d.skippedRows());
    }

    @Test
    void missingFileSaysWhereItLookedAndHowToDownload() {
        DistillException e = assertThrows(DistillException.class,
                () -> GlueReader.read(tmp, GlueTask.QQP, GlueTask.QQP.train(), false));
        assertTrue(e.getMessage().contains("QQP/train.tsv") && e.getMessage().contains("$GLUE_DIR")
                && e.getMessage().contains("./distill glue download --tasks QQP"), e.getMessage());
    }

    @Test
    void taskNamesParseInAnyCommonSpelling() {
        assertEquals(GlueTask.SST2, GlueTask.parse("sst-2"));
        assertEquals(GlueTask.STSB, GlueTask.parse("STS-B"));
        assertEquals(GlueTask.COLA, GlueTask.parse("cola"));
        assertThrows(IllegalArgumentException.class, () -> GlueTask.parse("squad"));
    }
}
