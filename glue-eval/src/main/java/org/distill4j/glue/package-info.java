/**
 * The GLUE harness: task definitions, TSV readers, official metrics, teacher fine-tuning,
 * evaluation and submission files. The module's contents arrive with the GLUE issue; the module
 * exists now so the build's layout is final.
 */
package org.distill4j.glue;
