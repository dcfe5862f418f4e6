package lab.grpcjava;

import java.math.BigDecimal;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;
import com.google.gson.ToNumberPolicy;

/** JSON as the lab's line protocol writes it: one object per line, numbers as they are. */
final class Json {
  private static final Gson GSON =
      new GsonBuilder()
          .serializeNulls()
          .disableHtmlEscaping()
          .setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE)
          // Times are ms since the epoch to 0.1 ms: plain digits, as the other programs write them.
          .registerTypeAdapter(Double.class, (JsonSerializer<Double>) (v, type, context) -> new JsonPrimitive(new BigDecimal(BigDecimal.valueOf(v).toPlainString())))
          .create();

  private Json() {}

  static Object parse(String text) {
    try {
      return GSON.fromJson(text, Object.class);
    } catch (com.google.gson.JsonParseException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  static String write(Object value) {
    return GSON.toJson(value);
  }
}
