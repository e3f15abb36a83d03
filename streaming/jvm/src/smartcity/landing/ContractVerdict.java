package smartcity.landing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.util.LongAccumulator;

/**
 * The landing job's verdict on one Kafka record, in one pass over its bytes.
 *
 * <p>Arguments: the value's bytes, the key's bytes and Kafka's timestamp in microseconds.
 * Result: (reason_code, reason_message, fields): the reason null and the contract's fields
 * typed for a valid record; the first failing check's code and a message naming the
 * fields at fault otherwise. The rules are not written here: they come from the contract
 * (foundation/contracts.py), handed over as a JSON spec when the function is created, and
 * the checks run in the order of the spec's reason codes.
 *
 * <p>It also counts the records it judges and those it refuses, in two accumulators, so
 * the landing job learns a batch's counts from the pass that writes it: no count job,
 * and no plan node of its own that would split the generated code of the write's stage.
 * Spark adds a task's updates only when the task succeeds, so a retried task counts once.
 */
public final class ContractVerdict implements UDF3<byte[], byte[], Long, Row> {
  private static final long serialVersionUID = 1L;
  private static final long MICROS_PER_DAY = 86_400_000_000L;
  private static final long MICROS_PER_HOUR = 3_600_000_000L;

  private final String spec;
  private final LongAccumulator judged;
  private final LongAccumulator refused;
  private transient Rules rules;

  public ContractVerdict(String spec, LongAccumulator judged, LongAccumulator refused) {
    this.spec = spec;
    this.judged = judged;
    this.refused = refused;
    this.rules = Rules.parse(spec); // fail at registration, not in a task, on a bad spec
  }

  /**
   * Registers the verdict of one contract as a SQL function of the session. Done here
   * rather than through Py4J, which may pick the untyped Scala overload of udf().
   * Declared nondeterministic (it is not) so that the optimizer never copies the call
   * into a filter or into each field taken from its result: one call per record.
   */
  public static ContractVerdict register(
      SparkSession spark, String name, String spec, String typeJson) {
    ContractVerdict verdict =
        new ContractVerdict(
            spec,
            spark.sparkContext().longAccumulator(name + ".judged"),
            spark.sparkContext().longAccumulator(name + ".refused"));
    UserDefinedFunction function =
        functions.udf(verdict, DataType.fromJson(typeJson)).asNondeterministic();
    spark.udf().register(name, function);
    return verdict;
  }

  /** How many fields the contract has: the typed struct's width. */
  public int fieldCount() {
    return rules().fields.length;
  }

  /** The position of a contract field in the typed struct, or -1. */
  public int fieldIndex(String name) {
    Integer index = rules().fieldIndex.get(name);
    return index == null ? -1 : index;
  }

  private Rules rules() {
    if (rules == null) {
      rules = Rules.parse(spec); // after deserialisation on an executor
    }
    return rules;
  }

  /** Records judged and refused since the last {@link #resetCounts}, on the driver. */
  public long[] counts() {
    return new long[] {judged.value(), refused.value()};
  }

  public void resetCounts() {
    judged.reset();
    refused.reset();
  }

  @Override
  public Row call(byte[] value, byte[] key, Long publishedMicros) {
    Row verdict = rules().judge(value, key, publishedMicros);
    judged.add(1);
    if (!verdict.isNullAt(0)) {
      refused.add(1);
    }
    return verdict;
  }

  /** The JSON types a field's value can have, as the checks tell them apart. */
  enum Kind {
    STRING,
    INTEGER,
    FLOAT,
    BOOLEAN,
    ARRAY,
    OBJECT
  }

  /** One field of the contract, compiled. */
  static final class FieldRule {
    final String name;
    final String type;
    final boolean required;
    final Set<String> allowed;
    final Double minimum;
    final Double maximum;
    final Pattern pattern;
    // The contract version that added the field: a record of an earlier version does
    // not have it, and any value under its name is ignored, as unknown fields are.
    final long sinceVersion;

    FieldRule(JsonNode node) {
      name = node.get("name").asText();
      type = node.get("type").asText();
      required = node.get("required").asBoolean();
      allowed = new HashSet<>();
      node.get("allowed").forEach(v -> allowed.add(v.asText()));
      minimum = node.get("minimum").isNull() ? null : node.get("minimum").asDouble();
      maximum = node.get("maximum").isNull() ? null : node.get("maximum").asDouble();
      pattern = node.get("pattern").isNull() ? null : Pattern.compile(node.get("pattern").asText());
      sinceVersion = node.get("since_version").asLong();
    }
  }

  /** A field's value as read from the payload: its JSON kind and its text or number. */
  static final class Seen {
    Kind kind;
    String text;
    double number;
    long integer;
    boolean fitsLong;
    List<String> strings; // an array's elements, when all of them are strings
  }

  static final class Rules {
    final String eventType;
    // The schema versions producers may send, side by side.
    final Set<Long> versions = new HashSet<>();
    final String versionsText;
    final Set<String> knownEventTypes = new HashSet<>();
    final FieldRule[] fields;
    final Map<String, Integer> fieldIndex = new HashMap<>();
    final List<String> reasonCodes = new ArrayList<>();
    final int maxPayloadBytes;
    final long maxAgeMicros;
    final long maxLeadMicros;
    final JsonFactory json;

    private Rules(JsonNode root) {
      eventType = root.get("event_type").asText();
      List<String> names = new ArrayList<>();
      root.get("versions").forEach(v -> {
        versions.add(v.asLong());
        names.add(v.asText());
      });
      versionsText = String.join(" or ", names);
      root.get("known_event_types").forEach(v -> knownEventTypes.add(v.asText()));
      root.get("reason_codes").forEach(v -> reasonCodes.add(v.asText()));
      JsonNode list = root.get("fields");
      fields = new FieldRule[list.size()];
      for (int i = 0; i < fields.length; i++) {
        fields[i] = new FieldRule(list.get(i));
        fieldIndex.put(fields[i].name, i);
      }
      JsonNode limits = root.get("limits");
      maxPayloadBytes = limits.get("max_payload_bytes").asInt();
      maxAgeMicros = limits.get("max_event_age_days").asLong() * MICROS_PER_DAY;
      maxLeadMicros = limits.get("max_event_lead_hours").asLong() * MICROS_PER_HOUR;
      // Strict JSON: a key twice in one object is an error, as is anything Jackson would
      // otherwise tolerate (comments, NaN, single quotes are off by default).
      json =
          JsonFactory.builder()
              .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
              .build();
    }

    static Rules parse(String spec) {
      try {
        return new Rules(new ObjectMapper().readTree(spec));
      } catch (IOException | RuntimeException error) {
        throw new IllegalArgumentException("not a contract spec: " + error.getMessage(), error);
      }
    }

    Row judge(byte[] value, byte[] key, Long publishedMicros) {
      Verdict verdict = new Verdict(reasonCodes);
      if (value == null || value.length == 0) {
        return verdict.refuse("empty_payload", "the record has no value");
      }
      if (value.length > maxPayloadBytes) {
        return verdict.refuse(
            "payload_too_large",
            "the value has " + value.length + " bytes, more than the " + maxPayloadBytes
                + " allowed");
      }
      if (!Utf8.isValid(value)) {
        return verdict.refuse("not_utf8", "the value is not valid UTF-8 text");
      }
      if (startsWithByteOrderMark(value)) {
        // Jackson skips a leading byte-order mark; JSON between systems has none
        // (RFC 8259), and it is not the whitespace the rule allows around the value.
        return verdict.refuse(
            "not_json", "the value starts with a byte-order mark, which is not JSON");
      }
      Seen[] seen = new Seen[fields.length];
      JsonToken root;
      try {
        root = read(value, seen);
      } catch (IOException | RuntimeException error) {
        return verdict.refuse(
            "not_json", "the value is not one valid JSON value (with only whitespace around it)");
      }
      if (root != JsonToken.START_OBJECT) {
        return verdict.refuse(
            "not_an_object", "the value is JSON of the wrong shape: " + shape(root));
      }
      if (key == null) {
        return verdict.refuse("null_key", "the record has no key (the device id)");
      }
      Seen type = seen[fieldIndex.get("event_type")];
      if (type != null && type.kind == Kind.STRING && !knownEventTypes.contains(type.text)) {
        return verdict.refuse("unknown_event_type", "unknown event_type " + type.text);
      }
      if (type != null && type.kind == Kind.STRING && !type.text.equals(eventType)) {
        return verdict.refuse(
            "wrong_topic", "a " + type.text + " event on the topic of " + eventType + " events");
      }
      Seen version = seen[fieldIndex.get("schema_version")];
      if (version != null && version.kind == Kind.INTEGER
          && !(version.fitsLong && versions.contains(version.integer))) {
        return verdict.refuse(
            "unknown_schema_version",
            "schema_version " + versionsText + " expected, got " + version.text);
      }
      return judgeFields(verdict, seen, publishedMicros);
    }

    /** The record's schema version; the newest when it has none that is a number (the
     * record is refused for that, and every field is judged). */
    private static long versionOf(Seen version) {
      if (version != null && version.kind == Kind.INTEGER && version.fitsLong) {
        return version.integer;
      }
      return Long.MAX_VALUE;
    }

    private Row judgeFields(Verdict verdict, Seen[] seen, Long publishedMicros) {
      Names missing = new Names();
      Names wrongType = new Names();
      Names unstorable = new Names();
      Names badTimestamp = new Names();
      Names malformed = new Names();
      Names notAllowed = new Names();
      Names outOfRange = new Names();
      Object[] typed = new Object[fields.length];
      long eventMicros = Long.MIN_VALUE;
      long recordVersion = versionOf(seen[fieldIndex.get("schema_version")]);
      for (int i = 0; i < fields.length; i++) {
        FieldRule field = fields[i];
        Seen s = seen[i];
        if (field.sinceVersion > recordVersion) {
          continue; // not a field of the record's version: null
        }
        if (s == null) {
          if (field.required) {
            missing.add(field.name);
          }
          continue;
        }
        Object converted = convert(field, s);
        if (converted == null) {
          wrongType.add(field.name);
          continue;
        }
        if (hasUnstorableText(s)) {
          unstorable.add(field.name);
          continue;
        }
        if (field.type.equals("timestamp")) {
          LocalDateTime moment = Timestamps.parse(s.text);
          if (moment == null) {
            badTimestamp.add(field.name);
            continue;
          }
          converted = moment;
          if (field.name.equals("event_at")) {
            eventMicros = Timestamps.micros(moment);
          }
        }
        if (field.pattern != null && !field.pattern.matcher(s.text).matches()) {
          malformed.add(field.name);
        }
        if (!field.allowed.isEmpty() && !field.allowed.contains(s.text)) {
          notAllowed.add(field.name);
        }
        if ((field.minimum != null && s.number < field.minimum)
            || (field.maximum != null && s.number > field.maximum)) {
          outOfRange.add(field.name);
        }
        typed[i] = converted;
      }
      verdict.consider("missing_required_field", missing, "missing: ");
      verdict.consider("wrong_type", wrongType, "of the wrong JSON type: ");
      verdict.consider(
          "unstorable_text",
          unstorable,
          "holds a NUL character or an unpaired surrogate, which no text column stores: ");
      verdict.consider("bad_timestamp", badTimestamp, "not an ISO 8601 UTC timestamp: ");
      verdict.consider("malformed_id", malformed, "not a well-formed identifier: ");
      verdict.consider("value_not_allowed", notAllowed, "value not allowed by the contract: ");
      verdict.consider("out_of_range", outOfRange, "out of range: ");
      if (eventMicros != Long.MIN_VALUE && publishedMicros != null
          && (eventMicros < publishedMicros - maxAgeMicros
              || eventMicros > publishedMicros + maxLeadMicros)) {
        verdict.consider(
            "event_time_out_of_range",
            "event_at " + Timestamps.text(eventMicros) + " is more than "
                + maxAgeMicros / MICROS_PER_DAY + " days before or "
                + maxLeadMicros / MICROS_PER_HOUR + " hours after Kafka received it");
      }
      if (verdict.code != null) {
        return verdict.result();
      }
      return RowFactory.create(null, null, RowFactory.create(typed));
    }

    /** The field's value as its contract type, or null when its JSON cannot be that. */
    private static Object convert(FieldRule field, Seen s) {
      switch (field.type) {
        case "string":
        case "timestamp":
          return s.kind == Kind.STRING ? s.text : null;
        case "int":
          return s.kind == Kind.INTEGER && s.fitsLong && s.integer == (int) s.integer
              ? Integer.valueOf((int) s.integer)
              : null;
        case "bigint":
          return s.kind == Kind.INTEGER && s.fitsLong ? Long.valueOf(s.integer) : null;
        case "double":
          return (s.kind == Kind.INTEGER || s.kind == Kind.FLOAT) && Double.isFinite(s.number)
              ? Double.valueOf(s.number)
              : null;
        case "array<string>":
          return s.kind == Kind.ARRAY && s.strings != null ? s.strings.toArray(new String[0]) : null;
        default:
          throw new IllegalStateException("no event field has the type " + field.type);
      }
    }

    private static boolean hasUnstorableText(Seen s) {
      if (s.kind == Kind.STRING) {
        return Utf8.unstorable(s.text);
      }
      if (s.strings != null) {
        for (String element : s.strings) {
          if (Utf8.unstorable(element)) {
            return true;
          }
        }
      }
      return false;
    }

    private static boolean startsWithByteOrderMark(byte[] value) {
      return value.length >= 3
          && value[0] == (byte) 0xEF
          && value[1] == (byte) 0xBB
          && value[2] == (byte) 0xBF;
    }

    /**
     * Reads the whole payload, keeping the contract's top-level fields; returns the root
     * token. Throws on anything that is not exactly one strict JSON value.
     */
    private JsonToken read(byte[] value, Seen[] seen) throws IOException {
      try (JsonParser parser = json.createParser(value)) {
        JsonToken root = parser.nextToken();
        if (root == JsonToken.START_OBJECT) {
          JsonToken token;
          while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
            Integer index = fieldIndex.get(parser.currentName());
            JsonToken first = parser.nextToken();
            if (index == null) {
              parser.skipChildren();
            } else {
              seen[index] = readValue(parser, first);
            }
          }
          if (token != JsonToken.END_OBJECT) {
            throw new IOException("unterminated object");
          }
        } else {
          parser.skipChildren();
        }
        if (parser.nextToken() != null) {
          throw new IOException("more than one JSON value");
        }
        return root;
      }
    }

    /** One field's value; null for JSON null, which counts as absent. */
    private static Seen readValue(JsonParser parser, JsonToken token) throws IOException {
      Seen s = new Seen();
      switch (token) {
        case VALUE_NULL:
          return null;
        case VALUE_STRING:
          s.kind = Kind.STRING;
          s.text = parser.getText();
          return s;
        case VALUE_NUMBER_INT:
          s.kind = Kind.INTEGER;
          s.text = parser.getText();
          s.fitsLong = parser.getNumberType() == JsonParser.NumberType.INT
              || parser.getNumberType() == JsonParser.NumberType.LONG;
          s.integer = s.fitsLong ? parser.getLongValue() : 0L;
          s.number = parser.getDoubleValue();
          return s;
        case VALUE_NUMBER_FLOAT:
          s.kind = Kind.FLOAT;
          s.text = parser.getText();
          s.number = parser.getDoubleValue();
          return s;
        case VALUE_TRUE:
        case VALUE_FALSE:
          s.kind = Kind.BOOLEAN;
          return s;
        case START_ARRAY:
          s.kind = Kind.ARRAY;
          s.strings = new ArrayList<>();
          JsonToken element;
          while ((element = parser.nextToken()) != JsonToken.END_ARRAY) {
            if (element == JsonToken.VALUE_STRING && s.strings != null) {
              s.strings.add(parser.getText());
            } else {
              s.strings = null; // not an array of strings; still read to its end
              parser.skipChildren();
            }
          }
          return s;
        case START_OBJECT:
          s.kind = Kind.OBJECT;
          parser.skipChildren();
          return s;
        default:
          throw new IOException("unexpected " + token);
      }
    }

    private static String shape(JsonToken root) {
      switch (root) {
        case START_ARRAY:
          return "ARRAY";
        case VALUE_STRING:
          return "STRING";
        case VALUE_NUMBER_INT:
        case VALUE_NUMBER_FLOAT:
          return "NUMBER";
        case VALUE_TRUE:
        case VALUE_FALSE:
          return "BOOLEAN";
        default:
          return "NULL";
      }
    }
  }

  /** Comma-separated names of the fields that fail one check. */
  static final class Names {
    private StringBuilder names;

    void add(String name) {
      if (names == null) {
        names = new StringBuilder(name);
      } else {
        names.append(", ").append(name);
      }
    }

    boolean any() {
      return names != null;
    }

    @Override
    public String toString() {
      return names == null ? "" : names.toString();
    }
  }

  /** The first failing check, in the order of the reason codes. */
  static final class Verdict {
    private final List<String> order;
    String code;
    String message;

    Verdict(List<String> order) {
      this.order = order;
    }

    Row refuse(String reason, String text) {
      consider(reason, text);
      return result();
    }

    void consider(String reason, Names names, String prefix) {
      if (names.any()) {
        consider(reason, prefix + names);
      }
    }

    void consider(String reason, String text) {
      int rank = order.indexOf(reason);
      if (rank < 0) {
        throw new IllegalStateException(reason + " is not one of the spec's reason codes");
      }
      if (code == null || rank < order.indexOf(code)) {
        code = reason;
        message = text;
      }
    }

    Row result() {
      return RowFactory.create(code, message, null);
    }
  }

  /** Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
  static final class Utf8 {
    static boolean isValid(byte[] bytes) {
      int i = 0;
      int n = bytes.length;
      while (i < n) {
        int b = bytes[i] & 0xff;
        if (b < 0x80) {
          i++;
          continue;
        }
        int extra;
        int min;
        if (b >= 0xc2 && b <= 0xdf) {
          extra = 1;
          min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
          extra = 2;
          min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
          extra = 3;
          min = 0x10000;
        } else {
          return false;
        }
        if (i + extra >= n) {
          return false;
        }
        int code = b & (0x3f >> extra);
        for (int k = 1; k <= extra; k++) {
          int c = bytes[i + k] & 0xff;
          if ((c & 0xc0) != 0x80) {
            return false;
          }
          code = (code << 6) | (c & 0x3f);
        }
        if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
          return false;
        }
        i += extra + 1;
      }
      return true;
    }

    /** NUL, or a surrogate without its pair (a JSON escape can write either). */
    static boolean unstorable(String text) {
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c == 0) {
          return true;
        }
        if (Character.isHighSurrogate(c)) {
          if (i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1))) {
            return true;
          }
          i++;
        } else if (Character.isLowSurrogate(c)) {
          return true;
        }
      }
      return false;
    }
  }

  /** yyyy-MM-ddTHH:mm:ss, then a fraction of one to six digits or none, then Z. */
  static final class Timestamps {
    static LocalDateTime parse(String text) {
      int n = text.length();
      if (n < 20 || text.charAt(n - 1) != 'Z') {
        return null;
      }
      if (!(digits(text, 0, 4) && text.charAt(4) == '-' && digits(text, 5, 7)
          && text.charAt(7) == '-' && digits(text, 8, 10) && text.charAt(10) == 'T'
          && digits(text, 11, 13) && text.charAt(13) == ':' && digits(text, 14, 16)
          && text.charAt(16) == ':' && digits(text, 17, 19))) {
        return null;
      }
      int nanos = 0;
      if (n > 20) {
        int fraction = n - 21; // digits between the '.' and the 'Z'
        if (text.charAt(19) != '.' || fraction < 1 || fraction > 6 || !digits(text, 20, n - 1)) {
          return null;
        }
        nanos = Integer.parseInt(text.substring(20, n - 1));
        for (int k = fraction; k < 9; k++) {
          nanos *= 10;
        }
      }
      try {
        return LocalDateTime.of(
            Integer.parseInt(text.substring(0, 4)),
            Integer.parseInt(text.substring(5, 7)),
            Integer.parseInt(text.substring(8, 10)),
            Integer.parseInt(text.substring(11, 13)),
            Integer.parseInt(text.substring(14, 16)),
            Integer.parseInt(text.substring(17, 19)),
            nanos);
      } catch (DateTimeException error) {
        return null;
      }
    }

    static long micros(LocalDateTime moment) {
      return moment.toEpochSecond(ZoneOffset.UTC) * 1_000_000L + moment.getNano() / 1_000;
    }

    static String text(long micros) {
      LocalDateTime moment =
          LocalDateTime.ofEpochSecond(
              Math.floorDiv(micros, 1_000_000L),
              (int) Math.floorMod(micros, 1_000_000L) * 1_000,
              ZoneOffset.UTC);
      String seconds =
          String.format(
              "%04d-%02d-%02d %02d:%02d:%02d",
              moment.getYear(), moment.getMonthValue(), moment.getDayOfMonth(),
              moment.getHour(), moment.getMinute(), moment.getSecond());
      int fraction = moment.getNano() / 1_000;
      return fraction == 0 ? seconds : seconds + String.format(".%06d", fraction);
    }

    private static boolean digits(String text, int from, int to) {
      for (int i = from; i < to; i++) {
        char c = text.charAt(i);
        if (c < '0' || c > '9') {
          return false;
        }
      }
      return true;
    }
  }
}
