def localize(df, dims, value_col="real", forecast_col="predict"):
    return []
