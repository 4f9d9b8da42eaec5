"""Operations shared by the API and the dashboard: one code path for each rule."""
