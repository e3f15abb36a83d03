package smartcity.landing;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.JobID;
import org.apache.hadoop.mapreduce.TaskAttemptContext;
import org.apache.hadoop.mapreduce.TaskAttemptID;
import org.apache.hadoop.mapreduce.TaskID;
import org.apache.hadoop.mapreduce.TaskType;
import org.apache.hadoop.mapreduce.task.TaskAttemptContextImpl;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.execution.datasources.OutputWriter;
import org.apache.spark.sql.execution.datasources.OutputWriterFactory;
import org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The valid records of one micro-batch, judged and written as Parquet in one pass.
 *
 * <p>Each task reads its Kafka records, asks the verdict about each one and writes the
 * valid ones, with their Kafka coordinates, the landing time and their event hour, to an open
 * Parquet writer per event hour: {@code
 * <table>/<date key>=YYYY-MM-DD/<hour key>=H/part-b<batch>-<run>-<task>-<attempt>.parquet}.
 * The names of the landing columns, of the two partition keys and of the event time they are
 * computed from come from the caller, which reads them from the lake's partition rule
 * (foundation/lake_tables.py); this class knows only what it writes in which position.
 * The caller commits the returned files to the table's Iceberg metadata; until then no
 * Iceberg reader sees them.
 * No generated code, no sort by hour and no count node: with five sources, each query of
 * a cold landing job used to compile and warm up its own such code, which was most of
 * the gap to a job that does not validate. The files are written with Spark's own
 * Parquet writer, as a DataFrame write would write them.
 *
 * <p>Only the files of successful task attempts are returned. A failed attempt's files, and
 * those of an earlier run of the same batch that was never committed, carry the same batch
 * prefix in the same folders: the caller deletes them before it commits.
 */
public final class ValidRowsWriter {
  private static final long MICROS_PER_HOUR = 3_600_000_000L;
  private static final long MICROS_PER_DAY = 24 * MICROS_PER_HOUR;
  /**
   * What it writes after the contract's fields, in this order: the Kafka topic, partition,
   * offset and timestamp, the landing time, the event hour's date and its hour of day.
   */
  static final int LANDING_VALUES = 7;

  private ValidRowsWriter() {}

  /**
   * Writes the batch's valid records under {@code table}, the table's folder; returns the
   * files, relative to it. {@code dataSchemaJson} is the raw table's schema; {@code
   * landingColumns} the names of its columns after the contract's fields (the last two the
   * partition keys, which name the folders), and {@code hourOf} the field whose hour they are.
   */
  public static String[] write(
      SparkSession spark,
      Dataset<Row> records,
      ContractVerdict verdict,
      String dataSchemaJson,
      String table,
      long batchId,
      long landedMicros,
      String[] landingColumns,
      String hourOf,
      String[] withoutDictionary)
      throws Exception {
    StructType dataSchema = (StructType) DataType.fromJson(dataSchemaJson);
    int fields = verdict.fieldCount();
    checkLayout(dataSchema, verdict, fields, landingColumns, hourOf);
    StructType input = records.schema();
    int[] kafka = {
      input.fieldIndex("key"),
      input.fieldIndex("value"),
      input.fieldIndex("topic"),
      input.fieldIndex("partition"),
      input.fieldIndex("offset"),
      input.fieldIndex("timestamp")
    };
    Job job = Job.getInstance(spark.sparkContext().hadoopConfiguration());
    ForklessLocalFileSystem.forWriters(job.getConfiguration(), new Path(table).toUri());
    for (String column : withoutDictionary) {
      job.getConfiguration().setBoolean("parquet.enable.dictionary#" + column, false);
    }
    @SuppressWarnings("unchecked")
    scala.collection.immutable.Map<String, String> options =
        (scala.collection.immutable.Map<String, String>)
            (Object) scala.collection.immutable.Map$.MODULE$.empty();
    // What a DataFrame write prepares: the session's Parquet settings in the job's
    // configuration (timestamp type, compression, the row schema for the writer).
    OutputWriterFactory factory =
        new ParquetFileFormat().prepareWrite(spark, job, options, dataSchema);
    Task task =
        new Task(
            verdict,
            factory,
            new SerializableConfiguration(job.getConfiguration()),
            dataSchemaJson,
            fields,
            verdict.fieldIndex(hourOf),
            landingColumns[LANDING_VALUES - 2],
            landingColumns[LANDING_VALUES - 1],
            kafka,
            table,
            String.format("part-b%012d-%s", batchId, UUID.randomUUID().toString().substring(0, 8)),
            landedMicros,
            "smartcity" + System.currentTimeMillis());
    List<String> files =
        records.queryExecution().toRdd().toJavaRDD().mapPartitionsWithIndex(task, false).collect();
    return files.toArray(new String[0]);
  }

  private static void checkLayout(
      StructType schema,
      ContractVerdict verdict,
      int fields,
      String[] landingColumns,
      String hourOf) {
    String[] names = schema.fieldNames();
    if (landingColumns.length != LANDING_VALUES) {
      throw new IllegalArgumentException(
          "the writer writes "
              + LANDING_VALUES
              + " columns after the contract's fields, not "
              + String.join(", ", landingColumns));
    }
    if (verdict.fieldIndex(hourOf) < 0) {
      throw new IllegalArgumentException(
          "the contract has no " + hourOf + " field, which the raw table is partitioned by");
    }
    boolean ok = names.length == fields + LANDING_VALUES;
    for (int i = 0; ok && i < fields; i++) {
      ok = verdict.fieldIndex(names[i]) == i;
    }
    for (int i = 0; ok && i < LANDING_VALUES; i++) {
      ok = names[fields + i].equals(landingColumns[i]);
    }
    if (!ok) {
      throw new IllegalArgumentException(
          "the raw table's columns are not the contract's fields then "
              + String.join(", ", landingColumns)
              + ": "
              + String.join(", ", names));
    }
  }

  static final class Task implements Function2<Integer, Iterator<InternalRow>, Iterator<String>> {
    private static final long serialVersionUID = 1L;
    private final ContractVerdict verdict;
    private final OutputWriterFactory factory;
    private final SerializableConfiguration conf;
    private final String dataSchemaJson;
    private final int fields;
    private final int eventAt;
    private final String dateKey;
    private final String hourKey;
    private final int[] kafka;
    private final String table;
    private final String namePrefix;
    private final long landedMicros;
    private final String jobTracker;

    Task(
        ContractVerdict verdict,
        OutputWriterFactory factory,
        SerializableConfiguration conf,
        String dataSchemaJson,
        int fields,
        int eventAt,
        String dateKey,
        String hourKey,
        int[] kafka,
        String table,
        String namePrefix,
        long landedMicros,
        String jobTracker) {
      this.verdict = verdict;
      this.factory = factory;
      this.conf = conf;
      this.dataSchemaJson = dataSchemaJson;
      this.fields = fields;
      this.eventAt = eventAt;
      this.dateKey = dateKey;
      this.hourKey = hourKey;
      this.kafka = kafka;
      this.table = table;
      this.namePrefix = namePrefix;
      this.landedMicros = landedMicros;
      this.jobTracker = jobTracker;
    }

    @Override
    public Iterator<String> call(Integer partition, Iterator<InternalRow> records)
        throws Exception {
      StructType dataSchema = (StructType) DataType.fromJson(dataSchemaJson);
      TaskContext task = TaskContext.get();
      TaskAttemptContext context =
          new TaskAttemptContextImpl(
              conf.value(),
              new TaskAttemptID(
                  new TaskID(new JobID(jobTracker, 0), TaskType.MAP, partition),
                  task.attemptNumber()));
      Map<Long, OutputWriter> writers = new HashMap<>();
      List<String> files = new ArrayList<>();
      try {
        while (records.hasNext()) {
          InternalRow record = records.next();
          long published = record.getLong(kafka[5]);
          Row judged =
              verdict.call(
                  record.isNullAt(kafka[1]) ? null : record.getBinary(kafka[1]),
                  record.isNullAt(kafka[0]) ? null : record.getBinary(kafka[0]),
                  published);
          if (!judged.isNullAt(0)) {
            continue; // refused: the dead letters' pass writes it
          }
          GenericInternalRow row = new GenericInternalRow(fields + LANDING_VALUES);
          Row typed = judged.getStruct(2);
          for (int i = 0; i < fields; i++) {
            row.update(i, internal(typed.get(i)));
          }
          row.update(fields, record.getUTF8String(kafka[2]).copy());
          row.setInt(fields + 1, record.getInt(kafka[3]));
          row.setLong(fields + 2, record.getLong(kafka[4]));
          // Kafka's timestamp as a zone-less timestamp: the same microseconds, in UTC.
          row.setLong(fields + 3, published);
          row.setLong(fields + 4, landedMicros);
          long hour = Math.floorDiv(row.getLong(eventAt), MICROS_PER_HOUR);
          // The hour's date (days since 1970) and hour of day, as Hive-style readers also
          // find them in the folder names.
          row.setInt(fields + 5, (int) Math.floorDiv(hour * MICROS_PER_HOUR, MICROS_PER_DAY));
          row.setInt(fields + 6, (int) Math.floorMod(hour, 24L));
          OutputWriter writer = writers.get(hour);
          if (writer == null) {
            String file = fileName(hour, partition, task, context);
            writer = factory.newInstance(table + "/" + file, dataSchema, context);
            writers.put(hour, writer);
            files.add(file);
          }
          writer.write(row);
        }
      } catch (Throwable error) {
        for (OutputWriter writer : writers.values()) {
          try {
            writer.close();
          } catch (Throwable also) {
            error.addSuppressed(also);
          }
        }
        throw error;
      }
      for (OutputWriter writer : writers.values()) {
        writer.close();
      }
      return files.iterator();
    }

    private String fileName(long hour, int partition, TaskContext task, TaskAttemptContext context) {
      LocalDateTime start = LocalDateTime.ofEpochSecond(hour * 3600, 0, ZoneOffset.UTC);
      return dateKey + "=" + start.toLocalDate()
          + "/" + hourKey + "=" + start.getHour()
          + "/" + namePrefix
          + "-" + String.format("%05d", partition)
          + "-" + task.taskAttemptId()
          + factory.getFileExtension(context);
    }

    /** A typed field as Spark holds it inside a row. */
    private static Object internal(Object value) {
      if (value instanceof String) {
        return UTF8String.fromString((String) value);
      }
      if (value instanceof LocalDateTime) {
        return ContractVerdict.Timestamps.micros((LocalDateTime) value);
      }
      if (value instanceof String[]) {
        String[] strings = (String[]) value;
        Object[] elements = new Object[strings.length];
        for (int i = 0; i < strings.length; i++) {
          elements[i] = UTF8String.fromString(strings[i]);
        }
        return new GenericArrayData(elements);
      }
      return value; // Integer, Long, Double or null: as Spark holds them
    }
  }
}
